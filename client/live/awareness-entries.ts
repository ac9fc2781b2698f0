// Awareness entries in a tab: relaying other tabs' states (leader tab) and mirroring a
// leader's view (follower tabs) need to choose clocks and to replace states regardless of
// clocks. The codec itself is the protocol's (protocol/awareness.ts).

import { equalityDeep } from "lib0/function";
import type { Awareness } from "y-protocols/awareness";
import { type AwarenessEntry, decodeAwarenessEntries, encodeAwarenessEntries } from "../../protocol/awareness.ts";

export { type AwarenessEntry, decodeAwarenessEntries, encodeAwarenessEntries };

/**
 * The current entries of `clients`: a client without a state is encoded as gone, and one whose
 * clock was already forgotten with clock 0 (mirrors ignore clocks of removals).
 */
export function currentEntries(awareness: Awareness, clients: Iterable<number>): AwarenessEntry[] {
  const entries: AwarenessEntry[] = [];
  for (const clientId of clients) {
    const clock = awareness.meta.get(clientId)?.clock ?? 0;
    entries.push({ clientId, clock, state: awareness.states.get(clientId) ?? null });
  }
  return entries;
}

/**
 * Makes `awareness` show what another Awareness (the leader tab's) shows for these entries,
 * whatever the clocks: a follower tab trusts its leader, which may legitimately go back to an
 * older clock (e.g. after its socket reconnected and the server re-sent states it had
 * forgotten). A removal also forgets the clock, for the same reason. This tab's own entry is
 * never replaced: a removal of it is reported through `onOwnRemoved` (the tab still exists
 * and must say so again), and a newer clock only raises our clock so our next update wins.
 * Emits `change` and `update` like y-protocols does.
 */
export function mirrorAwarenessEntries(
  awareness: Awareness,
  entries: readonly AwarenessEntry[],
  origin: unknown,
  onOwnRemoved: () => void,
): void {
  const added: number[] = [];
  const updated: number[] = [];
  const filteredUpdated: number[] = [];
  const removed: number[] = [];
  let ownRemoved = false;
  const now = Date.now();
  for (const { clientId, clock, state } of entries) {
    if (clientId === awareness.clientID) {
      const meta = awareness.meta.get(clientId);
      if (meta !== undefined && clock > meta.clock) awareness.meta.set(clientId, { clock, lastUpdated: meta.lastUpdated });
      if (state === null && awareness.getLocalState() !== null) ownRemoved = true;
      continue;
    }
    const prev = awareness.states.get(clientId);
    if (state === null) {
      awareness.meta.delete(clientId);
      if (prev !== undefined) {
        awareness.states.delete(clientId);
        removed.push(clientId);
      }
      continue;
    }
    awareness.states.set(clientId, state as Record<string, unknown>);
    awareness.meta.set(clientId, { clock, lastUpdated: now });
    if (prev === undefined) added.push(clientId);
    else {
      updated.push(clientId);
      if (!equalityDeep(prev, state)) filteredUpdated.push(clientId);
    }
  }
  if (added.length > 0 || filteredUpdated.length > 0 || removed.length > 0) {
    awareness.emit("change", [{ added, updated: filteredUpdated, removed }, origin]);
  }
  if (added.length > 0 || updated.length > 0 || removed.length > 0) {
    awareness.emit("update", [{ added, updated, removed }, origin]);
  }
  if (ownRemoved) onOwnRemoved();
}

/** Removes states (and forgets their clocks) without touching this tab's own state. */
export function forgetAwarenessStates(awareness: Awareness, clients: Iterable<number>, origin: unknown): void {
  const entries: AwarenessEntry[] = [];
  for (const clientId of clients) {
    if (clientId !== awareness.clientID) entries.push({ clientId, clock: 0, state: null });
  }
  mirrorAwarenessEntries(awareness, entries, origin, () => {});
}
