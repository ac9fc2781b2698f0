import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import { CLIENT_WRITABLE_ROOT } from "../../protocol/ticket-doc.ts";

// The ticket room's write policy for its `ticket` document: a client's update is applied
// only if everything it inserts and deletes belongs to the `draft` Y.Text.
//
// Pure and read-only: it parses the V1 update itself (the same reads, in the same order, as
// Yjs's readClientsStructRefs / readAndApplyDeleteSet) and replays Yjs's integration order
// against the document's struct store without touching it. It refuses anything Y.applyUpdate
// would park in `store.pendingStructs` / `pendingDs`: those are applied later, when another
// update fills the gap, and would then bypass this check.
//
// What it admits, per struct of the update:
// - Item: string, format mark (harmless in a reply; dropped by `toString`) or deleted
//   content, whose parent is the draft: explicitly (root name "draft", no map key) or
//   implicitly through `origin` / `rightOrigin`, each of which must be a draft item already
//   in the document or integrated earlier in the same update. Embeds are refused: the draft
//   is sent as plain text, so an embed would be invisible in the message yet rendered in the
//   other agents' editors. Nested types and subdocuments are refused.
//   Items the document already has are checked the same way (a stock client never resends
//   anything but draft items).
// - GC: only over clocks the document already has (a no-op; a new one would claim clocks
//   without content). A stock client never sends new GC structs for the draft: deleted text
//   stays an Item with ContentDeleted; GC structs come from deleted nested types only.
// - Skip: carries nothing; whatever follows a gap the document cannot fill is refused.
// - Nothing whose client is the server's own `doc.clientID`.
// Deletions: every deleted clock must be known (document or update); a document struct in
// the range must be a draft item or already deleted (a no-op: a client's sync step 2 carries
// the delete set of its whole document, including the room's old `meta` values).

const BITS5 = 0b11111;
const BIT6 = 0b100000;
const BIT7 = 0b1000000;
const BIT8 = 0b10000000;

/** Struct kinds: the low five bits of a struct's info byte (yjs src/utils/encoding.js). */
const GC_INFO = 0;
const CONTENT_DELETED = 1;
const CONTENT_STRING = 4;
const CONTENT_FORMAT = 6;
const SKIP_INFO = 10;

interface Ref {
  client: number;
  clock: number;
}

interface Struct {
  kind: "gc" | "skip" | "item";
  client: number;
  clock: number;
  length: number;
  origin: Ref | null;
  rightOrigin: Ref | null;
}

interface Block {
  structs: Struct[];
  next: number;
}

type Structs = Array<Y.Item | Y.GC>;

/** Whether `update` (Yjs update V1) only inserts into and deletes from the draft of `doc`. Never mutates `doc`, never throws. */
export function isDraftOnlyUpdate(doc: Y.Doc, update: Uint8Array): boolean {
  try {
    const draft = doc.share.get(CLIENT_WRITABLE_ROOT);
    if (!(draft instanceof Y.Text)) return false;
    const decoder = decoding.createDecoder(update);
    const blocks = readStructs(decoder, doc.clientID);
    if (blocks === null) return false;
    const state = integrate(doc, draft, blocks);
    if (state === null) return false;
    if (!deletesOnlyDraft(decoder, doc, draft, state)) return false;
    // A well-formed update ends with its delete set.
    return decoder.pos === update.length;
  } catch {
    // Malformed bytes (unexpected end, bad UTF-8 length, bad JSON in a format mark).
    return false;
  }
}

/** Reads the structs as Y.applyUpdate would, refusing at once what no draft edit contains. */
function readStructs(decoder: decoding.Decoder, serverClient: number): Map<number, Block> | null {
  const blocks = new Map<number, Block>();
  const clientCount = decoding.readVarUint(decoder);
  for (let c = 0; c < clientCount; c++) {
    const count = decoding.readVarUint(decoder);
    const client = decoding.readVarUint(decoder);
    let clock = decoding.readVarUint(decoder);
    // Yjs keeps only the last block of a client named twice: refuse rather than guess.
    if (client === serverClient || blocks.has(client)) return null;
    const structs: Struct[] = [];
    blocks.set(client, { structs, next: 0 });
    for (let i = 0; i < count; i++) {
      if (decoder.pos >= decoder.arr.length) return null; // readUint8 does not check the end
      const info = decoding.readUint8(decoder);
      const kind = info & BITS5;
      let length: number;
      let origin: Ref | null = null;
      let rightOrigin: Ref | null = null;
      if (kind === GC_INFO || kind === SKIP_INFO) {
        length = decoding.readVarUint(decoder);
      } else {
        if ((info & BIT8) !== 0) origin = readId(decoder);
        if ((info & BIT7) !== 0) rightOrigin = readId(decoder);
        if (origin === null && rightOrigin === null) {
          // Explicit parent: a root by name (the draft only; a nested type's ID cannot be the draft).
          if (decoding.readVarUint(decoder) !== 1) return null;
          if (decoding.readVarString(decoder) !== CLIENT_WRITABLE_ROOT) return null;
          if ((info & BIT6) !== 0) return null; // a map key: never in a Y.Text
        }
        length = readDraftContentLength(decoder, kind);
        if (length <= 0) return null;
      }
      if (!Number.isSafeInteger(clock + length)) return null;
      structs.push({ kind: kind === GC_INFO ? "gc" : kind === SKIP_INFO ? "skip" : "item", client, clock, length, origin, rightOrigin });
      clock += length;
    }
  }
  return blocks;
}

function readId(decoder: decoding.Decoder): Ref {
  return { client: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder) };
}

/** The length of a draft item's content, or -1 for content a draft must not hold. */
function readDraftContentLength(decoder: decoding.Decoder, kind: number): number {
  switch (kind) {
    case CONTENT_DELETED:
      return decoding.readVarUint(decoder);
    case CONTENT_STRING:
      return decoding.readVarString(decoder).length;
    case CONTENT_FORMAT:
      decoding.readVarString(decoder); // key
      JSON.parse(decoding.readVarString(decoder)); // Yjs parses it on apply: bad JSON would throw mid-transaction
      return 1;
    default:
      // Embed (by choice), JSON, binary, nested type, any, subdocument, or no content at all.
      return -1;
  }
}

/**
 * Replays Yjs's integrateStructs on a virtual state vector: the same order, the same
 * dependency checks. Returns the clocks each client reaches, or null when something would
 * stay pending or is not a draft item.
 */
function integrate(doc: Y.Doc, draft: Y.Text, blocks: Map<number, Block>): Map<number, number> | null {
  const store = doc.store;
  const state = new Map<number, number>();
  const stateOf = (client: number): number => {
    let clock = state.get(client);
    if (clock === undefined) state.set(client, (clock = Y.getState(store, client)));
    return clock;
  };
  const clients = [...blocks.keys()].sort((a, b) => a - b);
  const nextBlock = (): Block | null => {
    while (clients.length > 0) {
      const block = blocks.get(clients[clients.length - 1]!)!;
      if (block.next < block.structs.length) return block;
      clients.pop();
    }
    return null;
  };
  /** A client whose struct `ref` needs is not integrated yet (Item.getMissing). */
  const missing = (struct: Struct, ref: Ref | null): boolean =>
    ref !== null && ref.client !== struct.client && ref.clock >= stateOf(ref.client);

  let current = nextBlock();
  if (current === null) return state;
  let head: Struct = current.structs[current.next++]!;
  const stack: Struct[] = [];
  for (;;) {
    if (head.kind !== "skip") {
      const offset = stateOf(head.client) - head.clock;
      if (offset < 0) return null; // a gap in this client's clocks: Yjs would keep the rest pending
      let waitFor: number | null = null;
      if (missing(head, head.origin)) waitFor = head.origin!.client;
      else if (missing(head, head.rightOrigin)) waitFor = head.rightOrigin!.client;
      if (waitFor !== null) {
        stack.push(head);
        const block = blocks.get(waitFor);
        if (block === undefined || block.next === block.structs.length) return null; // depends on something absent
        head = block.structs[block.next++]!;
        continue;
      }
      if (head.kind === "gc") {
        if (head.clock + head.length > stateOf(head.client)) return null; // GC adds no content, only clocks
      } else {
        // Neighbours must be draft items (the item takes its parent from them); the one
        // left of a partly known item is the item at its first new clock - 1.
        if (head.origin !== null && !isDraftItem(store, draft, head.origin, state)) return null;
        if (head.rightOrigin !== null && !isDraftItem(store, draft, head.rightOrigin, state)) return null;
        if (offset > 0 && offset < head.length && !isDraftItem(store, draft, { client: head.client, clock: head.clock + offset - 1 }, state)) {
          return null;
        }
        if (offset < head.length) state.set(head.client, head.clock + head.length);
      }
    }
    const waiting = stack.pop();
    if (waiting !== undefined) {
      head = waiting;
    } else if (current !== null && current.next < current.structs.length) {
      head = current.structs[current.next++]!;
    } else {
      current = nextBlock();
      if (current === null) return state;
      head = current.structs[current.next++]!;
    }
  }
}

/**
 * Whether `ref` names an item of the draft: in the document (a draft item, not a GC), or
 * integrated earlier from this update (everything integrated from it was checked).
 */
function isDraftItem(store: Y.Doc["store"], draft: Y.Text, ref: Ref, state: Map<number, number>): boolean {
  const structs = store.clients.get(ref.client) as Structs | undefined;
  const known = structs === undefined ? 0 : Y.getState(store, ref.client);
  if (ref.clock < known) {
    const struct = structs![Y.findIndexSS(structs!, ref.clock)];
    return struct instanceof Y.Item && struct.parent === draft && struct.parentSub === null;
  }
  return ref.clock < (state.get(ref.client) ?? known);
}

/** Reads the delete set: every range known, and each struct in it draft or deleted already. */
function deletesOnlyDraft(decoder: decoding.Decoder, doc: Y.Doc, draft: Y.Text, state: Map<number, number>): boolean {
  const store = doc.store;
  const clientCount = decoding.readVarUint(decoder);
  for (let c = 0; c < clientCount; c++) {
    const client = decoding.readVarUint(decoder);
    const rangeCount = decoding.readVarUint(decoder);
    const structs = store.clients.get(client) as Structs | undefined;
    const known = structs === undefined ? 0 : Y.getState(store, client);
    const reached = state.get(client) ?? known;
    for (let r = 0; r < rangeCount; r++) {
      const clock = decoding.readVarUint(decoder);
      const end = clock + decoding.readVarUint(decoder);
      // Unknown clocks would wait in pendingDs and be deleted later, unchecked.
      if (end <= clock || end > reached) return false;
      if (clock >= known) continue; // items from this update: all draft
      for (let i = Y.findIndexSS(structs!, clock); i < structs!.length; i++) {
        const struct = structs![i]!;
        if (struct.id.clock >= end) break;
        if (struct.deleted) continue; // GC or deleted item: deleting it again changes nothing
        if (!(struct instanceof Y.Item) || struct.parent !== draft || struct.parentSub !== null) return false;
      }
    }
  }
  return true;
}
