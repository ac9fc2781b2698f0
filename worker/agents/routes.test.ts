import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { loginToken, readJson } from "../test-support/live-client.ts";

let ana: string;
let ada: string;
let olive: string;

beforeAll(async () => {
  ana = await loginToken("ana@demo.shop");
  ada = await loginToken("admin@demo.shop");
  olive = await loginToken("owner@other.shop");
});

function call(token: string | null, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return SELF.fetch(`http://hub.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

interface AgentsBody {
  agents: { id: string; name: string; role: string; chatCapacity: number; ticketCapacity: number; email?: string; passwordHash?: string }[];
}

describe("agents", () => {
  it("lists the caller's account's agents, without emails or password hashes", async () => {
    const { agents } = await readJson<AgentsBody>(await call(ana, "GET", "/api/agents"));
    expect(agents.map((agent) => agent.id).sort()).toEqual(["agt_demo_admin_ada", "agt_demo_ana", "agt_demo_ben"]);
    for (const agent of agents) {
      expect(agent.email).toBeUndefined();
      expect(agent.passwordHash).toBeUndefined();
    }
    expect((await call(null, "GET", "/api/agents")).status).toBe(401);
  });

  it("lets admins set capacity: 403 for agents, 400 for bad values, 404 for another account's agent", async () => {
    expect((await call(ana, "PATCH", "/api/agents/agt_demo_ben", { chatCapacity: 4 })).status).toBe(403);
    expect((await call(ada, "PATCH", "/api/agents/agt_demo_ben", { chatCapacity: -1 })).status).toBe(400);
    expect((await call(ada, "PATCH", "/api/agents/agt_demo_ben", {})).status).toBe(400);
    expect((await call(ada, "PATCH", "/api/agents/agt_other_owner", { chatCapacity: 4 })).status).toBe(404);
    expect((await call(olive, "PATCH", "/api/agents/agt_demo_ben", { chatCapacity: 4 })).status).toBe(404);
    const updated = await call(ada, "PATCH", "/api/agents/agt_demo_ben", { chatCapacity: 4, ticketCapacity: 6 });
    expect(updated.status).toBe(200);
    expect((await readJson<{ agent: { chatCapacity: number; ticketCapacity: number } }>(updated)).agent).toMatchObject({ chatCapacity: 4, ticketCapacity: 6 });
    // Back to the defaults for other tests.
    expect((await call(ada, "PATCH", "/api/agents/agt_demo_ben", { chatCapacity: 3, ticketCapacity: 5 })).status).toBe(200);
  });

  it("refuses an unknown availability and unknown preference fields with 400 and field errors", async () => {
    const bad = await call(ana, "PUT", "/api/me/availability", { status: "on holiday" });
    expect(bad.status).toBe(400);
    expect(Object.keys((await readJson(bad)).error.fields ?? {})).toEqual(["status"]);
    expect((await call(ana, "PATCH", "/api/me/preferences", { idleAwayMinutes: 0 })).status).toBe(400);
    expect((await call(ana, "PATCH", "/api/me/preferences", { theme: "dark" })).status).toBe(400);
    expect((await call(ana, "POST", "/api/me/notifications/read", { seq: "all" })).status).toBe(400);
    expect((await call(ana, "PUT", "/api/me/availability", "{oops")).status).toBe(400);
  });
});
