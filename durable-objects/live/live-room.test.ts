import { env, runInDurableObject } from "cloudflare:test";
import * as encoding from "lib0/encoding";
import { describe, expect, it } from "vitest";
import { MessageType } from "../../protocol/index.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { LiveTestClient, waitFor } from "../../worker/test-support/live-client.ts";

// The awareness ids a socket answers for live in its attachment, which workerd caps
// (MAX_ATTACHMENT_SIZE; the workerd here allows more than the documented 2 KiB: 500 such
// ids fit, 2,000 make serializeAttachment throw and the hub close the socket). A leader tab
// serves many follower tabs over its lifetime on one socket, so the list must shrink when a
// follower's state goes away, not only grow.

function agentsOfFreshAccount(): { ana: AgentIdentity; ben: AgentIdentity } {
  const accountId = `acc_attach_${crypto.randomUUID().slice(0, 8)}`;
  return {
    ana: { agentId: "agt_ana", accountId, name: "Ana", role: "agent" },
    ben: { agentId: "agt_ben", accountId, name: "Ben", role: "agent" },
  };
}

/** One awareness frame carrying several entries (a leader relaying its tabs), `null` = removal. */
function awarenessFrame(entries: { clientId: number; clock: number; state: Record<string, unknown> | null }[]): Uint8Array {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(update, entry.clientId);
    encoding.writeVarUint(update, entry.clock);
    encoding.writeVarString(update, JSON.stringify(entry.state));
  }
  const frame = encoding.createEncoder();
  encoding.writeVarUint(frame, MessageType.awareness);
  encoding.writeVarUint8Array(frame, encoding.toUint8Array(update));
  return encoding.toUint8Array(frame);
}

async function attachedIdsOf(accountId: string, agentId: string): Promise<number[][]> {
  const hub = env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(accountId));
  return runInDurableObject(hub, (_instance, state) =>
    state
      .getWebSockets(agentId)
      .map((ws) => (ws.deserializeAttachment() as { awarenessIds: number[] }).awarenessIds),
  );
}

describe("a socket's awareness ids (its attachment)", () => {
  it("holds only live ids while a leader socket announces and removes 2,000 follower ids", async () => {
    const { ana, ben } = agentsOfFreshAccount();
    const leader = await LiveTestClient.openAs(ana);
    const watcher = await LiveTestClient.openAs(ben);
    const state = { agentId: ana.agentId, name: ana.name };
    // The leader's own id stays throughout; followers come and go in batches of 100
    // (20 frames: within the awareness burst, so none is refused).
    const leaderId = 3_000_000_000;
    leader.send(awarenessFrame([{ clientId: leaderId, clock: 1, state }]));
    const batch = 100;
    let previous: number[] = [];
    for (let round = 0; round < 2_000 / batch; round++) {
      // Ids above 2^31, as Yjs picks them, serialise as doubles: 2,000 of them are ~18 KB.
      const next = Array.from({ length: batch }, (_, i) => 4_000_000_000 + round * batch + i);
      leader.send(
        awarenessFrame([
          ...previous.map((clientId) => ({ clientId, clock: 2, state: null })),
          ...next.map((clientId) => ({ clientId, clock: 1, state: { ...state, viewing: `tkt_${clientId}` } })),
        ]),
      );
      previous = next;
    }
    const live = [leaderId, ...previous].sort();
    await waitFor(
      () => [...watcher.awareness.getStates().keys()].sort().join() === live.join() || leader.closed !== undefined,
      "the watcher to see exactly the live states",
    );
    expect(leader.closed).toBeUndefined();

    // Removing every follower leaves the leader's own id alone.
    expect((await attachedIdsOf(ana.accountId, ana.agentId)).map((ids) => [...ids].sort())).toEqual([live]);
    leader.send(awarenessFrame(previous.map((clientId) => ({ clientId, clock: 2, state: null }))));
    await waitFor(() => watcher.awareness.getStates().size === 1, "the followers' removal");
    expect(await attachedIdsOf(ana.accountId, ana.agentId)).toEqual([[leaderId]]);
    expect(leader.closed).toBeUndefined();
    leader.close();
    watcher.close();
  });

  it("drops an id another socket of the same agent took over, and the taker keeps it", async () => {
    const { ana, ben } = agentsOfFreshAccount();
    const oldLeader = await LiveTestClient.openAs(ana);
    const watcher = await LiveTestClient.openAs(ben);
    const state = { agentId: ana.agentId, name: ana.name };
    oldLeader.send(awarenessFrame([{ clientId: 5_000_000_001, clock: 1, state }, { clientId: 5_000_000_002, clock: 1, state }]));
    await waitFor(() => watcher.awareness.getStates().size === 2, "both states");
    const newLeader = await LiveTestClient.openAs(ana);
    newLeader.send(awarenessFrame([{ clientId: 5_000_000_002, clock: 2, state: { ...state, viewing: "tkt_1" } }]));
    await waitFor(() => watcher.awareness.getStates().get(5_000_000_002)?.viewing === "tkt_1", "the takeover");
    const lists = (await attachedIdsOf(ana.accountId, ana.agentId)).map((ids) => ids.join()).sort();
    expect(lists).toEqual(["5000000001", "5000000002"]);
    for (const client of [oldLeader, newLeader, watcher]) client.close();
  });
});
