import { env, SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAlarmAt } from "../../worker/test-support/alarm-at.ts";
import {
  AWARENESS_BURST,
  InboxDoc,
  Keepalive,
  KEEPALIVE_QUERY_PARAM,
  PermissionDeniedReason,
  SOCKET_SILENCE_LIMIT_MS,
  type AgentPresence,
} from "../../protocol/index.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { LiveTestClient, tokenFor, waitFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";

// Presence in the inbox document: online while any socket of the agent is open, the
// availability the agent chose, idle once every tab of theirs says so; keepalives answered
// without the hub; awareness throttled; a browser's new leader tab may take over its tabs.

let fx: ReadFixture;

beforeAll(async () => {
  fx = await createReadFixture("presence");
});

afterAll(async () => {
  await fx.drop();
});

function hub() {
  return env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId));
}

function presenceIn(client: LiveTestClient, agentId: string): AgentPresence | undefined {
  return client.doc.getMap<AgentPresence>(InboxDoc.presence).get(agentId);
}

async function setAvailability(who: AgentIdentity, status: string): Promise<Response> {
  return SELF.fetch("http://hub.test/api/me/availability", {
    method: "PUT",
    headers: { Authorization: `Bearer ${await tokenFor(who)}`, "Content-Type": "application/json" },
    body: JSON.stringify({ status }),
  });
}

describe("presence", () => {
  it("is online while any of the agent's sockets is open, once per agent", async () => {
    const watcher = await LiveTestClient.openAs(fx.admin);
    const tab1 = await LiveTestClient.openAs(fx.agent);
    const tab2 = await LiveTestClient.openAs(fx.agent);
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.online, "agent online");
    tab1.close();
    await tab1.waitForClose();
    // Still one socket open: no flap to offline.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(presenceIn(watcher, fx.agent.agentId)?.online).toBe(true);
    const snapshot = await hub().presenceSnapshot();
    expect(snapshot.find((entry) => entry.agentId === fx.agent.agentId)?.sockets).toBe(1);
    tab2.close();
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.online === false, "agent offline after the last socket", 8_000);
    watcher.close();
  });

  it("does not flap offline when the agent's only socket is replaced at once (a tab handover, a reload)", async () => {
    const watcher = await LiveTestClient.openAs(fx.admin);
    const first = await LiveTestClient.openAs(fx.agent);
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.online, "agent online");
    const seen: boolean[] = [];
    watcher.doc.getMap<AgentPresence>(InboxDoc.presence).observe(() => seen.push(presenceIn(watcher, fx.agent.agentId)?.online ?? false));
    first.close();
    await first.waitForClose();
    const second = await LiveTestClient.openAs(fx.agent);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(seen).not.toContain(false);
    expect(presenceIn(watcher, fx.agent.agentId)?.online).toBe(true);
    second.close();
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.online === false, "offline once the grace is over", 8_000);
    watcher.close();
  });

  it("shows the availability the agent chose, and away while every tab is idle", async () => {
    const watcher = await LiveTestClient.openAs(fx.admin);
    const tabA = await LiveTestClient.openAs(fx.agent);
    const tabB = await LiveTestClient.openAs(fx.agent);
    const state = { agentId: fx.agent.agentId, name: fx.agent.name };
    expect((await setAvailability(fx.agent, "busy")).status).toBe(200);
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.status === "busy", "busy");
    expect((await setAvailability(fx.agent, "available")).status).toBe(200);
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.status === "available", "available again");

    tabA.publish({ ...state, idle: true });
    tabB.publish({ ...state, idle: false });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(presenceIn(watcher, fx.agent.agentId)?.idle).toBe(false);
    tabB.publish({ ...state, idle: true });
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.idle === true, "idle once every tab is");
    tabA.publish({ ...state, idle: false });
    await waitFor(() => presenceIn(watcher, fx.agent.agentId)?.idle === false, "active again");

    expect((await setAvailability(fx.agent, "asleep")).status).toBe(400);
    for (const client of [watcher, tabA, tabB]) client.close();
  });

  it("answers keepalives without the hub, and closes a keepalive socket that fell silent", async () => {
    const client = await LiveTestClient.openAs(fx.agent, { [KEEPALIVE_QUERY_PARAM]: "1" });
    const quiet = await LiveTestClient.openAs(fx.admin);
    client.sendText(Keepalive.request);
    await waitFor(() => client.texts.includes(Keepalive.response), "pong");
    expect(client.closed).toBeUndefined();
    // Seen from a minute past the silence limit, the keepalive socket is gone; the stock
    // client that never promised keepalives is not.
    await runAlarmAt(hub(), Date.now() + SOCKET_SILENCE_LIMIT_MS + 60_000);
    expect((await client.waitForClose()).reason).toBe("KEEPALIVE_TIMEOUT");
    expect(quiet.closed).toBeUndefined();
    quiet.close();
  });
});

describe("awareness from agent tabs", () => {
  it("is throttled: a socket flooding updates is refused beyond its burst, and nothing past it is relayed", async () => {
    const flooder = await LiveTestClient.openAs(fx.agent);
    const watcher = await LiveTestClient.openAs(fx.admin);
    let relayed = 0;
    watcher.awareness.on("update", () => (relayed += 1));
    for (let i = 0; i < AWARENESS_BURST + 20; i++) flooder.publish({ agentId: fx.agent.agentId, name: fx.agent.name, viewing: `tkt_${i}` });
    await waitFor(() => flooder.denied.includes(PermissionDeniedReason.rateLimited), "a rate-limited refusal");
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Some got through (the burst), not all of them.
    expect(relayed).toBeGreaterThanOrEqual(AWARENESS_BURST - 1);
    expect(relayed).toBeLessThan(AWARENESS_BURST + 20);
    flooder.close();
    watcher.close();
  });

  it("lets a new socket of the same agent take over a tab's awareness id, never another agent's socket", async () => {
    const oldLeader = await LiveTestClient.openAs(fx.agent);
    const watcher = await LiveTestClient.openAs(fx.admin);
    const followerId = 777_001;
    oldLeader.publish({ agentId: fx.agent.agentId, name: fx.agent.name, viewing: "tkt_x" }, followerId);
    await waitFor(() => watcher.awareness.getStates().has(followerId), "the follower's state");

    const intruder = await LiveTestClient.openAs(fx.admin);
    intruder.publish({ agentId: fx.admin.agentId, name: fx.admin.name }, followerId);
    await waitFor(() => intruder.denied.includes(PermissionDeniedReason.foreignAwareness), "another agent refused");

    const newLeader = await LiveTestClient.openAs(fx.agent);
    // A taking-over tab re-announces with a newer clock, as the client does.
    newLeader.publish({ agentId: fx.agent.agentId, name: fx.agent.name, viewing: "tkt_y" }, followerId, 2);
    await waitFor(() => watcher.awareness.getStates().get(followerId)?.viewing === "tkt_y", "the new leader's update");
    expect(newLeader.denied).toEqual([]);
    // The old leader's close no longer removes the state it handed over.
    oldLeader.close();
    await oldLeader.waitForClose();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(watcher.awareness.getStates().get(followerId)?.viewing).toBe("tkt_y");
    for (const client of [watcher, intruder, newLeader]) client.close();
  });
});
