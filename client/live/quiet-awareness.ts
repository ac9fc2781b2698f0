// An Awareness whose states live exactly as long as the server says.
//
// The stock y-protocols Awareness re-publishes the local state every 15 s and drops remote
// states not renewed within 30 s. Our hub keeps a tab's states for as long as its socket is
// open and relays their removal when it closes (and agents' presence is in the inbox
// document anyway), so the renewal would only be noise: every tab of the account re-sending
// its state every 15 s, each relayed to every other socket — with 200 agents, some 2,600
// sends a second carrying nothing new. The hub does the same on its side (live-room.ts).

import { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";

export function quietAwareness(doc: Y.Doc): Awareness {
  const awareness = new Awareness(doc);
  clearInterval((awareness as unknown as { _checkInterval: ReturnType<typeof setInterval> })._checkInterval);
  return awareness;
}
