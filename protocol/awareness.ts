// Awareness updates entry by entry, for both ends: the hub checks each entry before
// anything is relayed; a leader tab publishes other tabs' states at clocks it chooses.
// y-protocols itself only offers "encode these clients at the clocks this Awareness holds"
// and "apply if newer".
//
// Wire format (y-protocols awareness, docs/PROTOCOL.md): varUint count, then per entry
// varUint clientID, varUint clock, varString JSON state (`null` = gone).

import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** `null` means the client went away. */
  state: unknown;
}

/** Throws on a truncated update, trailing bytes or invalid JSON (a bad message). */
export function decodeAwarenessEntries(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state: unknown = JSON.parse(decoding.readVarString(decoder));
    entries.push({ clientId, clock, state });
  }
  if (decoding.hasContent(decoder)) throw new Error("trailing bytes after awareness update");
  return entries;
}

export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, JSON.stringify(entry.state ?? null));
  }
  return encoding.toUint8Array(encoder);
}
