import * as decoding from "lib0/decoding";

// Reads an awareness update without applying it, so the hub can check each entry before
// anything reaches other sockets. Wire format (y-protocols awareness):
// varUint count, then per entry varUint clientID, varUint clock, varString JSON state.

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** `null` means the client went away. */
  state: unknown;
}

/** Throws on a truncated frame or invalid JSON; callers treat that as a bad message. */
export function readAwarenessEntries(update: Uint8Array): AwarenessEntry[] {
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
