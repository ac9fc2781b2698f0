import { env, SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InboxDoc } from "../../protocol/index.ts";
import { LiveTestClient, readJson, tokenFor, waitFor } from "../test-support/live-client.ts";
import { createReadFixture, jsonInit, requestAs, SEEDED, type ReadFixture } from "../test-support/read-fixture.ts";
import type { TagJson } from "./routes.ts";

type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string[]> } };

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("tags");
});

afterAll(async () => {
  await fx?.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
  await fx?.drop();
});

async function listTags(who = fx.agent): Promise<TagJson[]> {
  const response = await fx.request("/api/tags", who);
  expect(response.status).toBe(200);
  return (await readJson<{ tags: TagJson[] }>(response)).tags;
}

async function createTag(body: unknown, who = fx.admin): Promise<Response> {
  return fx.request("/api/tags", who, jsonInit("POST", body));
}

describe("GET /api/tags", () => {
  it("lists the account's tags by name, for any agent", async () => {
    const response = await requestAs(SEEDED.ana, "/api/tags");
    expect(response.status).toBe(200);
    const { tags } = await readJson<{ tags: TagJson[] }>(response);
    const names = tags.map((tag) => tag.name);
    expect(names).toEqual(expect.arrayContaining(["shipping", "refund", "vip"]));
    expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    expect(tags.find((tag) => tag.name === "shipping")).toEqual({ id: expect.stringMatching(/^tag_/), name: "shipping", color: "#2563eb" });
    expect((await listTags()).map((tag) => tag.name)).toEqual(["alpha", "beta", "gamma"]);
  });
});

describe("POST /api/tags", () => {
  it("creates a tag for an admin", async () => {
    const response = await createTag({ name: " Fragile ", color: "#AA00FF" });
    expect(response.status).toBe(201);
    const { tag } = await readJson<{ tag: TagJson }>(response);
    expect(tag).toEqual({ id: expect.stringMatching(/^tag_/), name: "Fragile", color: "#aa00ff" });
    expect(await listTags()).toContainEqual(tag);
  });

  it("is 403 for an agent", async () => {
    const response = await createTag({ name: "sneaky" }, fx.agent);
    expect(response.status).toBe(403);
    expect((await readJson(response)).error.code).toBe("FORBIDDEN");
    expect((await listTags()).map((tag) => tag.name)).not.toContain("sneaky");
  });

  it("is 409 for a name already taken, ignoring case", async () => {
    const response = await createTag({ name: "ALPHA" });
    expect(response.status).toBe(409);
    expect(await readJson(response)).toEqual({
      error: { code: "CONFLICT", message: 'a tag named "ALPHA" already exists', fields: { name: ["already taken"] } },
    });
  });

  it("lets two accounts use the same name", async () => {
    const response = await createTag({ name: "shipping" });
    expect(response.status).toBe(201);
  });

  it.each([
    [{}, ["name"]],
    [{ name: "   " }, ["name"]],
    [{ name: "x".repeat(51) }, ["name"]],
    [{ name: "a,b" }, ["name"]],
    [{ name: "ok", color: "red" }, ["color"]],
    [{ name: "ok", extra: 1 }, ["(body)"]],
  ])("rejects %j with 400 and the bad fields", async (body, fields) => {
    const response = await createTag(body);
    expect(response.status).toBe(400);
    expect(Object.keys((await readJson<ErrorBody>(response)).error.fields ?? {})).toEqual(fields);
  });
});

describe("PATCH and DELETE /api/tags/:id", () => {
  it("renames a tag (admin), and a ticket shows the new name", async () => {
    const response = await fx.request(`/api/tags/${fx.tagIds[2]}`, fx.admin, jsonInit("PATCH", { name: "Gamma ray", color: null }));
    expect(response.status).toBe(200);
    expect((await readJson<{ tag: TagJson }>(response)).tag).toEqual({ id: fx.tagIds[2], name: "Gamma ray", color: null });
    // Renaming to its own name in another case is fine; to another tag's name is not.
    expect((await fx.request(`/api/tags/${fx.tagIds[2]}`, fx.admin, jsonInit("PATCH", { name: "GAMMA RAY" }))).status).toBe(200);
    const clash = await fx.request(`/api/tags/${fx.tagIds[2]}`, fx.admin, jsonInit("PATCH", { name: "beta" }));
    expect(clash.status).toBe(409);
  });

  it("is 403 for an agent renaming or deleting", async () => {
    const rename = await fx.request(`/api/tags/${fx.tagIds[0]}`, fx.agent, jsonInit("PATCH", { name: "mine" }));
    expect(rename.status).toBe(403);
    const remove = await fx.request(`/api/tags/${fx.tagIds[0]}`, fx.agent, { method: "DELETE" });
    expect(remove.status).toBe(403);
    expect((await listTags()).map((tag) => tag.id)).toContain(fx.tagIds[0]);
  });

  it("deletes a tag and takes it off every ticket", async () => {
    const tagged = async () =>
      (await readJson<{ tickets: { tags: { id: string }[] }[] }>(await fx.request(`/api/tickets?tag=${fx.tagIds[1]}&limit=100`))).tickets.length;
    expect(await tagged()).toBeGreaterThan(0);
    const response = await fx.request(`/api/tags/${fx.tagIds[1]}`, fx.admin, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await tagged()).toBe(0);
    const all = await readJson<{ tickets: { tags: { id: string }[] }[] }>(await fx.request("/api/tickets?limit=100"));
    expect(all.tickets.flatMap((ticket) => ticket.tags.map((tag) => tag.id))).not.toContain(fx.tagIds[1]);
    expect((await fx.request(`/api/tags/${fx.tagIds[1]}`, fx.admin, { method: "DELETE" })).status).toBe(404);
  });

  it("is 404 for another account's tag or a missing one, and leaves the other account's tag alone", async () => {
    const demoTags = await readJson<{ tags: TagJson[] }>(await requestAs(SEEDED.ada, "/api/tags"));
    const shipping = demoTags.tags.find((tag) => tag.name === "shipping")!;
    for (const id of [shipping.id, "tag_nope"]) {
      expect((await fx.request(`/api/tags/${id}`, fx.admin, jsonInit("PATCH", { name: "hijacked" }))).status).toBe(404);
      expect((await fx.request(`/api/tags/${id}`, fx.admin, { method: "DELETE" })).status).toBe(404);
    }
    const after = await readJson<{ tags: TagJson[] }>(await requestAs(SEEDED.ada, "/api/tags"));
    expect(after.tags.find((tag) => tag.id === shipping.id)).toEqual(shipping);
  });

  it("rejects an empty patch with 400", async () => {
    const response = await fx.request(`/api/tags/${fx.tagIds[0]}`, fx.admin, jsonInit("PATCH", {}));
    expect(response.status).toBe(400);
  });
});

describe("DELETE /api/tags/:id and the live inbox", () => {
  it("a view filtering on the deleted tag counts 0 again, as its list shows", async () => {
    const created = await createTag({ name: "Counted" });
    const { tag } = await readJson<{ tag: TagJson }>(created);
    const viewId = `view_tagged_${fx.accountId}`;
    await fx.shard.client.execute({
      sql: "INSERT INTO views (id, account_id, name, filter, position) VALUES (?, ?, 'Counted', ?, 0)",
      args: [viewId, fx.accountId, JSON.stringify({ tagIds: [tag.id] })],
    });
    await env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId)).reloadConfig(fx.accountId);
    // Tagged the way agents tag: through the ticket's room, reported to the hub.
    const ticketId = fx.tickets[1]!.id;
    const patched = await SELF.fetch(`http://hub.test/api/tickets/${ticketId}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${await tokenFor(fx.admin)}`, "Content-Type": "application/json" },
      body: JSON.stringify({ tagIds: [tag.id] }),
    });
    expect(patched.status).toBe(200);
    const tab = await LiveTestClient.openAs(fx.admin);
    const counts = tab.doc.getMap<number>(InboxDoc.counts);
    await waitFor(() => counts.get(viewId) === 1, "the tagged ticket counted");

    expect((await fx.request(`/api/tags/${tag.id}`, fx.admin, { method: "DELETE" })).status).toBe(204);
    const list = await readJson<{ tickets: unknown[] }>(await fx.request(`/api/tickets?view=${viewId}`, fx.admin));
    expect(list.tickets).toHaveLength(0);
    await waitFor(() => !counts.has(viewId), "the count back to 0");
    tab.close();
  });
});
