import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { InboxDoc, MessageType } from "../../protocol/index.ts";
import { LiveTestClient, waitFor } from "../../worker/test-support/live-client.ts";
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
