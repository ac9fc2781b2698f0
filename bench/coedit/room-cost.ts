import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { LiveRoom, type LivePeer, type LiveRoomPolicy } from "../../durable-objects/live/live-room.ts";
import { isDraftOnlyUpdate } from "../../durable-objects/ticket-room/draft-guard.ts";
import { MessageType } from "../../protocol/index.ts";
import { MAX_DRAFT_CHARS, TicketDoc } from "../../protocol/ticket-doc.ts";

// What the ticket room's own JavaScript costs per keystroke, measured in Node (V8, as in
// workerd) without a runtime: the same keystroke frames the co-edit bench's typists send,
// replayed through the room's LiveRoom (durable-objects/live/live-room.ts) with the ticket
// room's write policy (the size check and isDraftOnlyUpdate, as ticket-live.ts builds it)
// and its update handler (relay the update Yjs emits to every other socket). The sockets
// are stand-ins whose send() does nothing, so this is the room's JavaScript without
// workerd's send path, its SQLite (the draft-author read per update, the merged save every
// 250 ms) and getWebSockets(). Not the product's code path end to end: an estimate of the
// JavaScript share of the server CPU per delivered update, with and without the guard.
//
// Run alone: npx node bench/coedit/room-cost.ts [--agents 10] [--keystrokes 6000]

export interface Distribution {
  mean: number;
  p50: number;
  p99: number;
}

export interface RoomCost {
  agents: number;
  keystrokes: number;
  meanUpdateBytes: number;
  /** One keystroke frame through handleFrame: decode, policy, apply, re-encode, relay loop (µs). */
  frameUs: Distribution;
  /** The same with a policy that admits everything (no size check, no guard). */
  frameNoGuardUs: Distribution;
  /** isDraftOnlyUpdate alone, per call, on the room's document as it grows. */
  guardUs: Distribution;
  /** Y.applyUpdate alone (no update listener), per call. */
  applyUs: Distribution;
}

const WORD_RUN = 20;

interface Identity {
  agentId: string;
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { mean: values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), p50: at(50), p99: at(99) };
}

/** A document shaped like a fresh ticket room's: one thread message, the meta map, an empty draft. */
function roomDoc(): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    doc.getArray(TicketDoc.thread).push([
      { id: "msg_1", seq: 1, authorKind: "customer", authorId: null, body: "Where is my order?", isInternalNote: false, channel: "api", createdAt: Date.now() },
    ]);
    const meta = doc.getMap(TicketDoc.meta);
    for (const [key, value] of Object.entries({
      id: "tkt_1", subject: "Where is my order?", channel: "api", customerId: "cus_1", status: "open", priority: "normal",
      assigneeId: null, teamId: null, tagIds: [], snoozedUntil: null, version: 1, updatedAt: Date.now(),
    })) meta.set(key, value);
    doc.getText(TicketDoc.draft);
  });
  return doc;
}

/** The frames N typists send (one sync update per keystroke, typed round-robin at their own cursors), in order. */
function keystrokeFrames(agents: number, keystrokes: number, seed: number): { base: Uint8Array; frames: Uint8Array[]; updateBytes: number } {
  const server = roomDoc();
  const base = Y.encodeStateAsUpdate(server);
  const docs = Array.from({ length: agents }, () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base);
    return doc;
  });
  let state = seed >>> 0;
  const rand = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const cursors: (Y.RelativePosition | null)[] = docs.map(() => null);
  const frames: Uint8Array[] = [];
  let updateBytes = 0;
  for (let k = 0; k < keystrokes; k++) {
    const i = k % agents;
    const doc = docs[i]!;
    const text = doc.getText(TicketDoc.draft);
    const typed = Math.floor(k / agents);
    const cursor = cursors[i];
    const absolute = cursor && typed % WORD_RUN !== 0 ? Y.createAbsolutePositionFromRelativePosition(cursor, doc) : null;
    const index = absolute ? absolute.index : Math.floor(rand() * (text.length + 1));
    let update: Uint8Array | null = null;
    const capture = (u: Uint8Array) => {
      update = u;
    };
    doc.on("update", capture);
    text.insert(index, "abcdefghij"[typed % 10]!);
    doc.off("update", capture);
    cursors[i] = Y.createRelativePositionFromTypeIndex(text, index + 1, -1);
    const sent = update as Uint8Array | null;
    if (sent === null) throw new Error("no update");
    updateBytes += sent.byteLength;
    for (const other of docs) if (other !== doc) Y.applyUpdate(other, sent, "remote");
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.sync);
    syncProtocol.writeUpdate(encoder, sent);
    frames.push(encoding.toUint8Array(encoder));
  }
  return { base, frames, updateBytes: updateBytes / Math.max(1, keystrokes) };
}

function peers(agents: number): LivePeer<Identity>[] {
  return Array.from({ length: agents }, (_, i) => {
    let ids: number[] = [];
    return {
      identity: { agentId: `agt_${i}` },
      get awarenessIds() {
        return ids;
      },
      setAwarenessIds(next: number[]) {
        ids = next;
      },
      send() {},
      close() {},
    };
  });
}

/** Replays the frames through a LiveRoom on a fresh room document; µs per frame. */
function replay(base: Uint8Array, frames: Uint8Array[], agents: number, guarded: boolean): number[] {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, base);
  const draft = doc.getText(TicketDoc.draft);
  const policy: LiveRoomPolicy<Identity> = {
    // As ticketPolicy() in durable-objects/ticket-room/ticket-live.ts.
    mayWrite: guarded ? (update) => draft.length + update.byteLength <= MAX_DRAFT_CHARS * 4 && isDraftOnlyUpdate(doc, update) : () => true,
    mayPublishAwareness: () => true,
    sameOwner: () => true,
    awarenessRate: { perSecond: 15, burst: 30 },
  };
  const room = new LiveRoom<Identity>(doc, policy);
  const sockets = peers(agents);
  // As TicketLive.onUpdate for an agent's edit: relay the update Yjs emits to every other socket.
  doc.on("update", (update: Uint8Array, origin: unknown) => room.broadcastDocUpdate(update, sockets, origin as LivePeer<Identity>));
  const out: number[] = [];
  for (let k = 0; k < frames.length; k++) {
    const peer = sockets[k % agents]!;
    const t = performance.now();
    room.handleFrame(peer, frames[k]!, () => sockets);
    out.push((performance.now() - t) * 1000);
  }
  if (draft.length !== frames.length) throw new Error(`replay: the draft has ${draft.length} characters, expected ${frames.length}`);
  return out;
}

/** isDraftOnlyUpdate and Y.applyUpdate alone, per call, on a room document growing as in the bench. */
function guardAndApply(base: Uint8Array, frames: Uint8Array[]): { guard: number[]; apply: number[] } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, base);
  doc.getText(TicketDoc.draft); // as the room's policy does: the guard needs the root defined
  const guard: number[] = [];
  const apply: number[] = [];
  for (const frame of frames) {
    // A sync update frame is [0, 2, varUint length, update]; the update starts after the length.
    let pos = 2;
    while (frame[pos]! & 0x80) pos++;
    const update = frame.subarray(pos + 1);
    let t = performance.now();
    const ok = isDraftOnlyUpdate(doc, update);
    guard.push((performance.now() - t) * 1000);
    if (!ok) throw new Error("the guard refused a keystroke");
    t = performance.now();
    Y.applyUpdate(doc, update);
    apply.push((performance.now() - t) * 1000);
  }
  return { guard, apply };
}

/**
 * The room's JavaScript per keystroke frame, with and without the draft guard. Each replay
 * runs `rounds` times (the first warms the JIT); the round with the lowest mean is kept.
 */
export function measureRoomCost(options: { agents: number; keystrokes: number; seed?: number; rounds?: number }): RoomCost {
  const { base, frames, updateBytes } = keystrokeFrames(options.agents, options.keystrokes, options.seed ?? 1);
  const rounds = options.rounds ?? 3;
  const best = (run: () => number[]) => {
    let kept: number[] | null = null;
    for (let r = 0; r < rounds; r++) {
      const values = run();
      if (kept === null || distribution(values).mean < distribution(kept).mean) kept = values;
    }
    return distribution(kept!);
  };
  const frame = best(() => replay(base, frames, options.agents, true));
  const frameNoGuard = best(() => replay(base, frames, options.agents, false));
  let guardKept: number[] | null = null;
  let applyKept: number[] | null = null;
  for (let r = 0; r < rounds; r++) {
    const { guard, apply } = guardAndApply(base, frames);
    if (guardKept === null || distribution(guard).mean < distribution(guardKept).mean) guardKept = guard;
    if (applyKept === null || distribution(apply).mean < distribution(applyKept).mean) applyKept = apply;
  }
  return {
    agents: options.agents,
    keystrokes: options.keystrokes,
    meanUpdateBytes: updateBytes,
    frameUs: frame,
    frameNoGuardUs: frameNoGuard,
    guardUs: distribution(guardKept!),
    applyUs: distribution(applyKept!),
  };
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({ options: { agents: { type: "string", default: "10" }, keystrokes: { type: "string", default: "6000" } } });
  const cost = measureRoomCost({ agents: Number(values.agents), keystrokes: Number(values.keystrokes) });
  const f = (d: Distribution) => `mean ${d.mean.toFixed(1)}, p50 ${d.p50.toFixed(1)}, p99 ${d.p99.toFixed(1)} us`;
  console.log(`room JavaScript per keystroke, ${cost.agents} agents, ${cost.keystrokes} keystrokes (update ${cost.meanUpdateBytes.toFixed(1)} bytes on average):`);
  console.log(`  handleFrame + relay, with the guard:    ${f(cost.frameUs)}`);
  console.log(`  handleFrame + relay, admit everything:  ${f(cost.frameNoGuardUs)}`);
  console.log(`  isDraftOnlyUpdate alone:                ${f(cost.guardUs)}`);
  console.log(`  Y.applyUpdate alone:                    ${f(cost.applyUs)}`);
}
