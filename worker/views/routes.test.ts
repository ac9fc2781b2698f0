import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJson } from "../test-support/live-client.ts";
import { createReadFixture, jsonInit, requestAs, SEEDED, type ReadFixture } from "../test-support/read-fixture.ts";
import type { ViewJson } from "./routes.ts";

type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string[]> } };

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("views");
});

afterAll(async () => {
  await fx?.drop();
});

async function createView(who: ReadFixture["agent"], body: unknown): Promise<Response> {
  return fx.request("/api/views", who, jsonInit("POST", body));
}

async function created(who: ReadFixture["agent"], body: unknown): Promise<ViewJson> {
  const response = await createView(who, body);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await readJson<{ view: ViewJson }>(response)).view;
}

async function listViews(who: ReadFixture["agent"]): Promise<ViewJson[]> {
  const response = await fx.request("/api/views", who);
  expect(response.status).toBe(200);
  return (await readJson<{ views: ViewJson[] }>(response)).views;
}

describe("GET /api/views", () => {
  it("lists the seeded shared views by position", async () => {
    const response = await requestAs(SEEDED.ana, "/api/views");
    expect(response.status).toBe(200);
    const { views } = await readJson<{ views: ViewJson[] }>(response);
    const seeded = views.filter((view) => view.id.startsWith("view_demo_"));
    expect(seeded.map((view) => view.name)).toEqual(["Unassigned", "My tickets", "Urgent", "Chat"]);
    expect(seeded[0]).toEqual({
      id: "view_demo_unassigned",
      name: "Unassigned",
      filter: { assignee: "unassigned", status: ["open", "pending"], sort: { field: "updated_at", direction: "asc" } },
      position: 0,
      ownerAgentId: null,
      shared: true,
    });
    const olive = await readJson<{ views: ViewJson[] }>(await requestAs(SEEDED.olive, "/api/views"));
    expect(olive.views.some((view) => view.id.startsWith("view_demo_"))).toBe(false);
  });

  it("shows shared views and the caller's own private views, never another agent's", async () => {
    const shared = await created(fx.admin, { name: "Team queue", filter: { teamId: fx.teamId }, shared: true, position: 5 });
    const adminOwn = await created(fx.admin, { name: "Admin private", filter: { assignee: "me" } });
    const agentOwn = await created(fx.agent, { name: "Agent private", filter: { assignee: "me" }, position: 1 });
    expect(adminOwn).toMatchObject({ shared: false, ownerAgentId: fx.admin.agentId });
    expect((await listViews(fx.agent)).map((view) => view.id)).toEqual([agentOwn.id, shared.id]);
    expect((await listViews(fx.admin)).map((view) => view.id)).toEqual([shared.id, adminOwn.id]);
  });
});

describe("POST /api/views", () => {
  it("lets an agent create a private view, placed last by default", async () => {
    const before = await listViews(fx.agent);
    const view = await created(fx.agent, {
      name: "  My urgent chats ",
      filter: { channel: ["chat"], priority: ["urgent"], createdWithinHours: 24, tagIds: [fx.tagIds[0]] },
    });
    expect(view).toEqual({
      id: expect.stringMatching(/^view_/),
      name: "My urgent chats",
      filter: { channel: ["chat"], priority: ["urgent"], createdWithinHours: 24, tagIds: [fx.tagIds[0]] },
      position: Math.max(-1, ...before.map((v) => v.position)) + 1,
      ownerAgentId: fx.agent.agentId,
      shared: false,
    });
    const got = await fx.request(`/api/views/${view.id}`);
    expect((await readJson<{ view: ViewJson }>(got)).view).toEqual(view);
  });

  it("is 403 for an agent creating a shared view, 201 for an admin", async () => {
    const response = await createView(fx.agent, { name: "Everyone", filter: {}, shared: true });
    expect(response.status).toBe(403);
    expect((await readJson(response)).error.code).toBe("FORBIDDEN");
    expect((await created(fx.admin, { name: "Everyone", filter: {}, shared: true })).shared).toBe(true);
  });

  it.each([
    [{ filter: {} }, ["name"]],
    [{ name: "", filter: {} }, ["name"]],
    [{ name: "x" }, ["filter"]],
    [{ name: "x", filter: { status: ["opened"] } }, ["filter.status.0"]],
    [{ name: "x", filter: { createdWithinHours: -3, sort: { field: "x", direction: "asc" } } }, ["filter.createdWithinHours", "filter.sort.field"]],
    [{ name: "x", filter: {}, shared: "yes" }, ["shared"]],
    [{ name: "x", filter: {}, position: -1 }, ["position"]],
  ])("rejects %j with 400 and the bad fields", async (body, fields) => {
    const response = await createView(fx.agent, body);
    expect(response.status).toBe(400);
    const error = (await readJson<ErrorBody>(response)).error;
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(Object.keys(error.fields ?? {}).sort()).toEqual([...fields].sort());
  });

  it("rejects agents, teams and tags of another account", async () => {
    const response = await createView(fx.agent, {
      name: "Foreign",
      filter: { assignee: SEEDED.ana.agentId, teamId: "team_demo_support", tagIds: [fx.tagIds[1], "tag_nope"] },
    });
    expect(response.status).toBe(400);
    const error = (await readJson<ErrorBody>(response)).error;
    expect(Object.keys(error.fields ?? {}).sort()).toEqual(["filter.assignee", "filter.tagIds", "filter.teamId"]);
    expect(error.fields!["filter.tagIds"]).toEqual(["no such tags: tag_nope"]);
  });

  it("rejects malformed JSON", async () => {
    const response = await createView(fx.agent, "{ nope");
    expect(response.status).toBe(400);
  });
});

describe("PATCH and DELETE /api/views/:id", () => {
  it("let an agent rename, refilter and delete their own private view", async () => {
    const view = await created(fx.agent, { name: "Scratch", filter: { status: ["open"] } });
    const patched = await fx.request(`/api/views/${view.id}`, fx.agent, jsonInit("PATCH", { name: "Scratch 2", filter: { status: ["closed"] } }));
    expect(patched.status).toBe(200);
    expect((await readJson<{ view: ViewJson }>(patched)).view).toMatchObject({ id: view.id, name: "Scratch 2", filter: { status: ["closed"] } });
    // The list route uses the new filter.
    const listed = await readJson<{ tickets: { status: string }[] }>(await fx.request(`/api/tickets?view=${view.id}&limit=100`));
    expect(listed.tickets.length).toBeGreaterThan(0);
    expect(listed.tickets.every((ticket) => ticket.status === "closed")).toBe(true);

    const deleted = await fx.request(`/api/views/${view.id}`, fx.agent, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect((await fx.request(`/api/views/${view.id}`)).status).toBe(404);
    expect((await fx.request(`/api/tickets?view=${view.id}`)).status).toBe(404);
  });

  it("are 403 for an agent on a shared view, allowed for an admin", async () => {
    const view = await created(fx.admin, { name: "Shared one", filter: {}, shared: true });
    const patch = await fx.request(`/api/views/${view.id}`, fx.agent, jsonInit("PATCH", { name: "Mine now" }));
    expect(patch.status).toBe(403);
    const remove = await fx.request(`/api/views/${view.id}`, fx.agent, { method: "DELETE" });
    expect(remove.status).toBe(403);
    expect((await listViews(fx.agent)).find((v) => v.id === view.id)?.name).toBe("Shared one");
    const byAdmin = await fx.request(`/api/views/${view.id}`, fx.admin, jsonInit("PATCH", { position: 9 }));
    expect(byAdmin.status).toBe(200);
    expect((await fx.request(`/api/views/${view.id}`, fx.admin, { method: "DELETE" })).status).toBe(204);
  });

  it("are 404 for another agent's private view (even for an admin) and another account's view", async () => {
    const mine = await created(fx.agent, { name: "Agent secret", filter: {} });
    for (const [who, id] of [
      [fx.admin, mine.id],
      [fx.admin, "view_demo_unassigned"],
      [fx.agent, "view_nope"],
    ] as const) {
      const patch = await fx.request(`/api/views/${id}`, who, jsonInit("PATCH", { name: "x" }));
      expect(patch.status, id).toBe(404);
      const remove = await fx.request(`/api/views/${id}`, who, { method: "DELETE" });
      expect(remove.status, id).toBe(404);
      expect((await fx.request(`/api/views/${id}`, who)).status).toBe(404);
    }
    // Still there for its owner, and the seeded view is untouched.
    expect((await fx.request(`/api/views/${mine.id}`, fx.agent)).status).toBe(200);
    const seeded = await readJson<{ view: ViewJson }>(await requestAs(SEEDED.ana, "/api/views/view_demo_unassigned"));
    expect(seeded.view.name).toBe("Unassigned");
  });

  it("reject an empty or invalid patch with 400", async () => {
    const view = await created(fx.agent, { name: "Patch me", filter: {} });
    for (const [body, fields] of [
      [{}, ["(body)"]],
      [{ filter: { status: "open" } }, ["filter.status"]],
      [{ ownerAgentId: null }, ["(body)"]],
      [{ filter: { assignee: "agt_nobody" } }, ["filter.assignee"]],
    ] as const) {
      const response = await fx.request(`/api/views/${view.id}`, fx.agent, jsonInit("PATCH", body));
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((await readJson<ErrorBody>(response)).error.fields ?? {})).toEqual(fields);
    }
  });
});
