import { env, evictDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { InboxDoc, MessageType } from "../../protocol/index.ts";
import { LiveTestClient, tokenFor, waitFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture } from "../../worker/test-support/read-fixture.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";

describe("AccountHub across an eviction", () => {
  it("restores the inbox from storage and asks open sockets to re-send awareness", async () => {
    const accountId = `acc_evict_${crypto.randomUUID().slice(0, 8)}`;
    const ana: AgentIdentity = { agentId: "agt_ana", accountId, name: "Ana", role: "agent" };
    const ben: AgentIdentity = { agentId: "agt_ben", accountId, name: "Ben", role: "agent" };

    const anaClient = await LiveTestClient.openAs(ana);
    anaClient.publish({ agentId: "agt_ana", name: "Ana" });
    await waitFor(() => anaClient.doc.getMap(InboxDoc.agents).has("agt_ana"), "first sync");

    const stub = env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(accountId));
    await evictDurableObject(stub, { webSockets: "hibernate" });

    // The next connection wakes the hub: the document comes back from SQLite, and the
    // surviving socket is asked for its awareness.
    const benClient = await LiveTestClient.openAs(ben);
    const agents = benClient.doc.getMap(InboxDoc.agents);
    await waitFor(() => agents.has("agt_ana") && agents.has("agt_ben"), "restored inbox");
    await waitFor(() => anaClient.received.includes(MessageType.queryAwareness), "a query-awareness to ana");
    // Ana's test client answers like a real one: by re-sending her state.
    anaClient.publish({ agentId: "agt_ana", name: "Ana" });
    await waitFor(() => benClient.onlineAgents().includes("agt_ana"), "ana's presence back");
    expect(anaClient.closed).toBeUndefined();
    anaClient.close();
    benClient.close();
  });
});

describe("AccountHub restarted under its clients", () => {
  it("keeps counts, presence and notifications, and open sockets keep getting updates", async () => {
    const fx = await createReadFixture("restart");
    try {
      const viewId = `view_restart_${fx.accountId}`;
      await fx.shard.client.batch(
        [
          { sql: "INSERT INTO views (id, account_id, name, filter, position) VALUES (?, ?, 'Open', ?, 0)", args: [viewId, fx.accountId, JSON.stringify({ status: ["open"] })] },
          { sql: "INSERT INTO view_follows (account_id, agent_id, view_id) VALUES (?, ?, ?)", args: [fx.accountId, fx.agent.agentId, viewId] },
        ],
        "write",
      );
      const stub = env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
      await stub.reloadConfig(fx.accountId);
      const client = await LiveTestClient.openAs(fx.agent);
      const counts = client.doc.getMap<number>(InboxDoc.counts);
      await waitFor(() => counts.has(viewId), "the first counts");
      const before = counts.get(viewId)!;

      await evictDurableObject(stub, { webSockets: "hibernate" });

      // A change after the restart reaches the socket that was open across it.
      const response = await SELF.fetch("http://hub.test/api/tickets", {
        method: "POST",
        headers: { Authorization: `Bearer ${await tokenFor(fx.admin)}`, "Content-Type": "application/json" },
        body: JSON.stringify({ customer: { email: "restart@example.com" }, subject: "After the restart", body: "Hi" }),
      });
      expect(response.status).toBe(201);
      await waitFor(() => counts.get(viewId) === before + 1, "the count after the restart");
      const notes = () => (client.doc.getMap(InboxDoc.notifications).get(fx.agent.agentId) as { length: number } | undefined)?.length ?? 0;
      await waitFor(() => notes() === 1, "the notification after the restart");

      // A client connecting now gets the same state, presence included.
      const late = await LiveTestClient.openAs(fx.admin);
      await waitFor(() => late.doc.getMap<number>(InboxDoc.counts).get(viewId) === before + 1, "the late client's counts");
      expect((late.doc.getMap(InboxDoc.presence).get(fx.agent.agentId) as { online: boolean }).online).toBe(true);
      expect((late.doc.getMap(InboxDoc.notifications).get(fx.agent.agentId) as { length: number }).length).toBe(1);
      client.close();
      late.close();
    } finally {
      await fx.shard.client.execute({ sql: "DELETE FROM view_follows WHERE account_id = ?", args: [fx.accountId] });
      await fx.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
      await fx.drop();
    }
  });
});
