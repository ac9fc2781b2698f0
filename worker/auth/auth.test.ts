import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readJson } from "../test-support/live-client.ts";
import { signSession } from "./tokens.ts";

const DEMO_PASSWORD = "demo-password";

function login(body: unknown, init: RequestInit = {}) {
  return SELF.fetch("http://hub.test/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

async function loginAs(email: string): Promise<{ token: string; agent: Record<string, string> }> {
  const response = await login({ email, password: DEMO_PASSWORD });
  expect(response.status).toBe(200);
  return readJson(response);
}

describe("POST /api/auth/login", () => {
  it("signs in a demo agent and returns a token and who they are", async () => {
    const { token, agent } = await loginAs("ana@demo.shop");
    expect(token.split(".")).toHaveLength(3);
    expect(agent).toMatchObject({ name: "Ana", role: "agent", accountId: "acc_demo" });
    expect(agent.id).toEqual(expect.any(String));
  });

  it("accepts the email in any case and with surrounding spaces", async () => {
    const response = await login({ email: "  ADMIN@Demo.Shop ", password: DEMO_PASSWORD });
    expect(response.status).toBe(200);
    expect((await readJson<{ agent: { role: string } }>(response)).agent.role).toBe("admin");
  });

  it("answers a wrong password and an unknown email identically with 401", async () => {
    const wrongPassword = await login({ email: "ana@demo.shop", password: "not-the-password" });
    const unknownEmail = await login({ email: "nobody@demo.shop", password: DEMO_PASSWORD });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    const [a, b] = [await readJson(wrongPassword), await readJson(unknownEmail)];
    expect(a).toEqual(b);
    expect(a).toEqual({ error: { code: "INVALID_CREDENTIALS", message: "email or password is incorrect" } });
  });

  it("rejects malformed JSON with a 400 JSON error", async () => {
    const response = await login("{ not json");
    expect(response.status).toBe(400);
    expect((await readJson(response)).error.code).toBe("BAD_REQUEST");
  });

  it("lists missing and mistyped fields", async () => {
    const response = await login({ email: 42 });
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(Object.keys(body.error.fields ?? {}).sort()).toEqual(["email", "password"]);
  });

  it("rejects an oversized body with 413", async () => {
    const response = await login({ email: "ana@demo.shop", password: "x".repeat(20_000) });
    expect(response.status).toBe(413);
    expect((await readJson(response)).error.code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("GET /api/me", () => {
  it("returns the signed-in agent read from the account's shard", async () => {
    const { token, agent } = await loginAs("ben@demo.shop");
    const response = await SELF.fetch("http://hub.test/api/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect((await readJson<{ agent: unknown }>(response)).agent).toMatchObject({
      id: agent.id,
      name: "Ben",
      email: "ben@demo.shop",
      role: "agent",
      accountId: "acc_demo",
    });
  });

  it("is 401 without a token, with garbage, and with a token signed by another secret", async () => {
    const { agent } = await loginAs("ben@demo.shop");
    const forged = await signSession(
      { agentId: agent.id!, accountId: "acc_demo", name: "Ben", role: "admin" },
      "some-other-secret-0123456789abcdef",
    );
    for (const headers of [{}, { Authorization: "Bearer garbage" }, { Authorization: `Bearer ${forged}` }] as Record<string, string>[]) {
      const response = await SELF.fetch("http://hub.test/api/me", { headers });
      expect(response.status).toBe(401);
      expect((await readJson(response)).error.code).toBe("UNAUTHORIZED");
    }
  });

  it("does not find an agent through a token naming another account", async () => {
    const { agent } = await loginAs("ben@demo.shop");
    const token = await signSession(
      { agentId: agent.id!, accountId: "acc_other", name: "Ben", role: "agent" },
      "workers-test-secret-0123456789abcdef",
    );
    const response = await SELF.fetch("http://hub.test/api/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
  });
});

describe("unknown API routes", () => {
  it("answer 404 in JSON", async () => {
    const response = await SELF.fetch("http://hub.test/api/nope");
    expect(response.status).toBe(404);
    expect((await readJson(response)).error.code).toBe("NOT_FOUND");
  });
});
