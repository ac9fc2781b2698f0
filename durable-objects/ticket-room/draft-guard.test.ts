import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { TicketDoc, type ThreadMessage } from "../../protocol/ticket-doc.ts";
import { isDraftOnlyUpdate } from "./draft-guard.ts";

// Randomised: a seeded PRNG builds rooms and clients and produces thousands of updates,
// each of a named category. Refused ones must leave the room's document byte-identical;
// admitted ones are applied and must change the draft only. Every category must have run.

function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)]! };
}
type Rng = ReturnType<typeof prng>;

const WORDS = ["hi", "thanks", " ", "we", "refund", "é", "🙂", "\n", "order #42", "ok"];

function message(seq: number): ThreadMessage {
  return { id: `msg_${seq}`, seq, authorKind: "customer", authorId: "cus_1", body: `body ${seq}`, isInternalNote: false, channel: "email", createdAt: seq };
}

/** The room's document: thread, meta (with overwritten values) and a draft, all by the room's client. */
function serverDoc(rng: Rng, clientID: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const thread = doc.getArray<ThreadMessage>(TicketDoc.thread);
  const meta = doc.getMap<unknown>(TicketDoc.meta);
  const draft = doc.getText(TicketDoc.draft);
  const count = 1 + rng.int(5);
  for (let seq = 1; seq <= count; seq++) thread.push([message(seq)]);
  if (count > 1 && rng.next() < 0.5) thread.delete(rng.int(count), 1); // deleted items of the thread
  meta.set("status", "open");
  meta.set("subject", "Where is my order?");
  meta.set("version", 1);
  meta.set("status", rng.pick(["pending", "solved"])); // overwritten: a deleted meta item
  meta.set("version", 2);
  if (rng.next() < 0.7) draft.insert(0, "Hello, ");
  return doc;
}

/** A client that synced the room's whole state. */
function clientOf(server: Y.Doc, clientID: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(server));
  return doc;
}

/** The update(s) `change` emits on `doc`, merged; null if it changed nothing. */
function capture(doc: Y.Doc, change: () => void): Uint8Array | null {
  const updates: Uint8Array[] = [];
  const onUpdate = (update: Uint8Array) => updates.push(update);
  doc.on("update", onUpdate);
  change();
  doc.off("update", onUpdate);
  if (updates.length === 0) return null;
  return updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
}

function randomDraftEdit(doc: Y.Doc, rng: Rng): Uint8Array | null {
  const text = doc.getText(TicketDoc.draft);
  return capture(doc, () =>
    doc.transact(() => {
      for (let op = 1 + rng.int(3); op > 0; op--) {
        const length = text.length;
        const roll = rng.next();
        if (roll < 0.5 || length === 0) {
          text.insert(boundary(text, rng.int(length + 1)), rng.pick(WORDS) + rng.pick(WORDS), rng.next() < 0.2 ? { bold: true } : undefined);
          continue;
        }
        const at = boundary(text, rng.int(length));
        const end = boundary(text, Math.min(length, at + 1 + rng.int(5)));
        if (end <= at) continue;
        if (roll < 0.8) text.delete(at, end - at);
        else text.format(at, end - at, { italic: rng.next() < 0.7 ? true : null });
      }
    }),
  );
}

/**
 * Moves an index off the middle of a surrogate pair: Yjs turns a split pair into U+FFFD
 * locally but not on peers, so such edits do not converge (a Yjs quirk, not the guard's).
 */
function boundary(text: Y.Text, index: number): number {
  const code = text.toString().charCodeAt(index - 1);
  return code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}

/** A draft edit that certainly emits an update (an insert). */
function draftInsert(doc: Y.Doc, rng: Rng): Uint8Array {
  const text = doc.getText(TicketDoc.draft);
  return capture(doc, () => text.insert(boundary(text, rng.int(text.length + 1)), rng.pick(WORDS) + "!"))!;
}

function contentOf(doc: Y.Doc) {
  return {
    thread: JSON.stringify(doc.getArray(TicketDoc.thread).toJSON()),
    meta: JSON.stringify(doc.getMap(TicketDoc.meta).toJSON()),
    roots: [...doc.share.keys()].sort().join(","),
  };
}

function snapshot(doc: Y.Doc) {
  return {
    ...contentOf(doc),
    draft: JSON.stringify(doc.getText(TicketDoc.draft).toDelta()),
    stateVector: Y.encodeStateVector(doc),
    // Byte-identical: would also catch a split item (the guard must not call getItemClean*).
    state: Y.encodeStateAsUpdate(doc),
    pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null,
  };
}

function delta(doc: Y.Doc): unknown {
  return doc.getText(TicketDoc.draft).toDelta();
}

/** A copy of the room's document, as a woken room would load it (own client id). */
function copyOf(server: Y.Doc, clientID: number): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(server));
  doc.clientID = clientID; // after loading: Yjs picks a new id when a remote update carries its own
  doc.getText(TicketDoc.draft);
  return doc;
}

/** Sends the client what the room has that it lacks (the room's broadcasts). */
function catchUp(client: Y.Doc, server: Y.Doc): void {
  Y.applyUpdate(client, Y.encodeStateAsUpdate(server, Y.encodeStateVector(client)));
}

function deleteOnlyUpdate(ranges: readonly { client: number; clock: number; len: number }[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0); // no structs
  encoding.writeVarUint(encoder, ranges.length);
  for (const range of ranges) {
    encoding.writeVarUint(encoder, range.client);
    encoding.writeVarUint(encoder, 1);
    encoding.writeVarUint(encoder, range.clock);
    encoding.writeVarUint(encoder, range.len);
  }
  return encoding.toUint8Array(encoder);
}

function gcUpdate(client: number, clock: number, len: number): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1); // one client
  encoding.writeVarUint(encoder, 1); // one struct
  encoding.writeVarUint(encoder, client);
  encoding.writeVarUint(encoder, clock);
  encoding.writeUint8(encoder, 0); // GC
  encoding.writeVarUint(encoder, len);
  encoding.writeVarUint(encoder, 0); // no deletes
  return encoding.toUint8Array(encoder);
}

interface CraftedItem {
  origin?: [client: number, clock: number];
  rightOrigin?: [client: number, clock: number];
  /** A root's name, when the item has neither origin. */
  parent?: string;
  text: string;
}

/** A hand-written V1 update of string items (what no stock client would send). */
function crafted(blocks: readonly { client: number; clock: number; items: readonly CraftedItem[] }[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, blocks.length);
  for (const block of blocks) {
    encoding.writeVarUint(encoder, block.items.length);
    encoding.writeVarUint(encoder, block.client);
    encoding.writeVarUint(encoder, block.clock);
    for (const item of block.items) {
      encoding.writeUint8(encoder, 4 | (item.origin ? 0x80 : 0) | (item.rightOrigin ? 0x40 : 0)); // 4: string content
      for (const id of [item.origin, item.rightOrigin]) {
        if (id) for (const n of id) encoding.writeVarUint(encoder, n);
      }
      if (!item.origin && !item.rightOrigin) {
        encoding.writeVarUint(encoder, 1); // parent by root name
        encoding.writeVarString(encoder, item.parent ?? TicketDoc.draft);
      }
      encoding.writeVarString(encoder, item.text);
    }
  }
  encoding.writeVarUint(encoder, 0); // no deletes
  return encoding.toUint8Array(encoder);
}

/** Whether a decoded update has an item whose neighbour is another client's (not the room's). */
function buildsOnOthers(update: Uint8Array, self: number, server: number): boolean {
  return Y.decodeUpdate(update).structs.some(
    (struct) =>
      struct instanceof Y.Item &&
      [struct.origin, struct.rightOrigin].some((id) => id !== null && id.client !== self && id.client !== server),
  );
}

const REFUSED = [
  "thread push",
  "thread insert",
  "thread delete",
  "meta set",
  "meta delete",
  "new root",
  "mixed transaction",
  "mixed merged",
  "nested type in draft",
  "embed in draft",
  "random bytes",
  "truncated",
  "bytes flipped",
  "server client id",
  "unknown deletes",
  "new GC range",
  "text beside a non-draft item",
  "clock gap",
  "unseen dependency",
] as const;
const ADMITTED = [
  "draft edit",
  "concurrent edits",
  "builds on others",
  "merged draft edits",
  "gap filled",
  "stock client step 2",
  "known GC range",
] as const;
type Category = (typeof REFUSED)[number] | (typeof ADMITTED)[number] | "bytes flipped, still a draft edit" | "random bytes, empty update";

describe("isDraftOnlyUpdate", () => {
  it("admits draft edits only, and never touches the document (seeded fuzz)", () => {
    const counts = new Map<Category, number>();
    const count = (category: Category) => counts.set(category, (counts.get(category) ?? 0) + 1);

    let server!: Y.Doc;
    let nextClient = 0;
    const newClientId = () => {
      nextClient += 1;
      return 1_000 + nextClient;
    };

    const refused = (category: Category, update: Uint8Array) => {
      const before = snapshot(server);
      expect(isDraftOnlyUpdate(server, update), category).toBe(false);
      expect(snapshot(server), category).toEqual(before);
      count(category);
    };
    /** Applies an admitted update: the draft changes as `expected` (if given), nothing else. */
    const admitted = (category: Category, update: Uint8Array, expected?: Y.Doc) => {
      const before = contentOf(server);
      expect(isDraftOnlyUpdate(server, update), category).toBe(true);
      Y.applyUpdate(server, update, "client");
      expect(contentOf(server), category).toEqual(before);
      expect(server.store.pendingStructs, category).toBeNull();
      expect(server.store.pendingDs, category).toBeNull();
      if (expected) expect(delta(server), category).toEqual(delta(expected));
      count(category);
    };
    /** For mangled bytes that may still be a valid draft edit: refused untouched, or safe to apply. */
    const refusedOrHarmless = (category: Category, harmless: Category, update: Uint8Array) => {
      const before = snapshot(server);
      if (!isDraftOnlyUpdate(server, update)) {
        expect(snapshot(server), category).toEqual(before);
        count(category);
        return;
      }
      const copy = copyOf(server, newClientId());
      const contentBefore = contentOf(copy);
      Y.applyUpdate(copy, update);
      expect(contentOf(copy), harmless).toEqual(contentBefore);
      expect(copy.store.pendingStructs, harmless).toBeNull();
      expect(copy.store.pendingDs, harmless).toBeNull();
      count(harmless);
    };
    /** A throwaway client synced from the room. */
    const stranger = () => clientOf(server, newClientId());

    const cases: Array<(rng: Rng) => void> = [
      (rng) => {
        const c = stranger();
        refused("thread push", capture(c, () => c.getArray(TicketDoc.thread).push([message(99)]))!);
      },
      (rng) => {
        const c = stranger();
        const thread = c.getArray(TicketDoc.thread);
        refused("thread insert", capture(c, () => thread.insert(rng.int(thread.length + 1), [message(98)]))!);
      },
      (rng) => {
        const c = stranger();
        const thread = c.getArray(TicketDoc.thread);
        refused("thread delete", capture(c, () => thread.delete(rng.int(thread.length), 1))!);
      },
      (rng) => {
        const c = stranger();
        const meta = c.getMap(TicketDoc.meta);
        refused("meta set", capture(c, () => meta.set(rng.pick(["status", "assigneeId", "priority", "new"]), rng.pick(["solved", "agt_x", null])))!);
      },
      (rng) => {
        const c = stranger();
        const meta = c.getMap(TicketDoc.meta);
        refused("meta delete", capture(c, () => meta.delete(rng.pick([...meta.keys()])))!);
      },
      (rng) => {
        const c = stranger();
        const name = rng.pick(["notes", "drafts", "Draft", "draft2", ""]);
        const update = capture(c, () => {
          const kind = rng.int(3);
          if (kind === 0) c.getMap(name).set("k", 1);
          else if (kind === 1) c.getText(name).insert(0, "x");
          else c.getArray(name).push([1]);
        })!;
        refused("new root", update);
      },
      (rng) => {
        const c = stranger();
        const update = capture(c, () =>
          c.transact(() => {
            c.getText(TicketDoc.draft).insert(0, "Hi ");
            if (rng.next() < 0.5) c.getMap(TicketDoc.meta).set("status", "solved");
            else c.getArray(TicketDoc.thread).delete(0, 1);
          }),
        )!;
        refused("mixed transaction", update);
      },
      (rng) => {
        const c = stranger();
        const draftEdit = draftInsert(c, rng);
        const other = capture(c, () => (rng.next() < 0.5 ? c.getArray(TicketDoc.thread).push([message(97)]) : c.getMap(TicketDoc.meta).delete("subject")))!;
        refused("mixed merged", Y.mergeUpdates(rng.next() < 0.5 ? [draftEdit, other] : [other, draftEdit]));
      },
      (rng) => {
        const c = stranger();
        const text = c.getText(TicketDoc.draft);
        const nested = rng.pick([() => new Y.Map(), () => new Y.Text("x"), () => new Y.Array()])();
        refused("nested type in draft", capture(c, () => text.insertEmbed(rng.int(text.length + 1), nested))!);
      },
      (rng) => {
        const c = stranger();
        const text = c.getText(TicketDoc.draft);
        refused("embed in draft", capture(c, () => text.insertEmbed(rng.int(text.length + 1), { image: "https://x.test/p.png" }))!);
      },
      (rng) => {
        const bytes = new Uint8Array(1 + rng.int(64));
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
        refusedOrHarmless("random bytes", "random bytes, empty update", bytes);
      },
      (rng) => {
        const c = stranger();
        const update = rng.next() < 0.5 ? draftInsert(c, rng) : (randomDraftEdit(c, rng) ?? draftInsert(c, rng));
        refused("truncated", update.slice(0, rng.int(update.length)));
      },
      (rng) => {
        const c = stranger();
        const update = (randomDraftEdit(c, rng) ?? draftInsert(c, rng)).slice();
        for (let flips = 1 + rng.int(3); flips > 0; flips--) update[rng.int(update.length)]! ^= 1 + rng.int(255);
        refusedOrHarmless("bytes flipped", "bytes flipped, still a draft edit", update);
      },
      (rng) => {
        const c = stranger();
        c.clientID = server.clientID; // set after syncing: Yjs would pick a new id on seeing its own
        refused("server client id", draftInsert(c, rng));
      },
      (rng) => {
        const serverClock = Y.getState(server.store, server.clientID);
        const range = rng.pick([
          { client: server.clientID, clock: serverClock + rng.int(3), len: 1 + rng.int(4) },
          { client: server.clientID, clock: Math.max(0, serverClock - 1), len: 2 + rng.int(4) }, // straddles the end
          { client: 9_999_999, clock: rng.int(5), len: 1 + rng.int(4) }, // a client the room never saw
        ]);
        refused("unknown deletes", deleteOnlyUpdate([range]));
      },
      (rng) => {
        // Text whose neighbour is a thread or meta item: Yjs would take the parent from it.
        const others = (server.store.clients.get(server.clientID) ?? []).filter(
          (struct) => struct instanceof Y.Item && struct.parent !== server.getText(TicketDoc.draft),
        );
        const draftItems = (server.store.clients.get(server.clientID) ?? []).filter(
          (struct) => struct instanceof Y.Item && struct.parent === server.getText(TicketDoc.draft),
        );
        const beside = rng.pick(others);
        const id: [number, number] = [beside.id.client, beside.id.clock + rng.int(beside.length)];
        const draftId: [number, number] | undefined = draftItems.length > 0 ? [draftItems[0]!.id.client, draftItems[0]!.id.clock] : undefined;
        const item: CraftedItem = rng.pick([
          { origin: id, text: "x" },
          { rightOrigin: id, text: "x" },
          { origin: draftId ?? id, rightOrigin: id, text: "x" },
          { origin: id, rightOrigin: draftId ?? id, text: "x" },
        ]);
        refused("text beside a non-draft item", crafted([{ client: newClientId(), clock: 0, items: [item] }]));
      },
      (rng) => {
        const c = stranger();
        const own = Y.getState(server.store, c.clientID);
        refused("new GC range", gcUpdate(c.clientID, own, 1 + rng.int(10)));
      },
      (rng) => {
        // The second of two edits without the first: Yjs would hold it pending and apply it
        // later, unchecked. The first then arrives, and the second is admitted.
        const c = stranger();
        const first = draftInsert(c, rng);
        const second = draftInsert(c, rng);
        refused("clock gap", second);
        admitted("gap filled", first);
        admitted("gap filled", second, c);
      },
      (rng) => {
        // B edits inside A's fresh text before A's edit reached the room.
        const a = stranger();
        const b = stranger();
        const text = a.getText(TicketDoc.draft);
        const at = boundary(text, rng.int(text.length + 1));
        const fromA = capture(a, () => text.insert(at, "abcdef"))!;
        Y.applyUpdate(b, fromA);
        const fromB = capture(b, () => b.getText(TicketDoc.draft).insert(at + 1 + rng.int(5), "Z"))!;
        refused("unseen dependency", fromB);
        admitted("draft edit", fromA, a);
        admitted("builds on others", fromB, b);
      },
      (rng) => {
        const c = stranger();
        const edit = randomDraftEdit(c, rng);
        if (edit) admitted("draft edit", edit, c);
      },
      (rng) => {
        // 1–3 agents edit concurrently from the same state; the room gets them in any order.
        const agents = Array.from({ length: 1 + rng.int(3) }, stranger);
        const edits = agents.map((agent) => randomDraftEdit(agent, rng)).filter((edit) => edit !== null);
        for (let i = edits.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [edits[i], edits[j]] = [edits[j]!, edits[i]!];
        }
        for (const edit of edits) admitted("concurrent edits", edit);
        for (const agent of agents) {
          catchUp(agent, server);
          expect(delta(agent)).toEqual(delta(server));
        }
      },
      (rng) => {
        // Rounds of editing by 2–3 agents who see each other's earlier edits.
        const agents = Array.from({ length: 2 + rng.int(2) }, stranger);
        for (let round = 0; round < 4; round++) {
          for (const agent of agents) {
            catchUp(agent, server);
            const edit = randomDraftEdit(agent, rng);
            if (!edit) continue;
            admitted(buildsOnOthers(edit, agent.clientID, server.clientID) ? "builds on others" : "draft edit", edit, agent);
          }
        }
      },
      (rng) => {
        const agents = Array.from({ length: 1 + rng.int(3) }, stranger);
        const edits = agents.flatMap((agent) => [randomDraftEdit(agent, rng), randomDraftEdit(agent, rng)]).filter((edit) => edit !== null);
        if (edits.length > 0) admitted("merged draft edits", Y.mergeUpdates(edits));
      },
      (rng) => {
        // A stock client (gc on) typed and deleted offline, then answers sync step 1 of a room
        // that woke with a fresh copy of its document (another client id).
        const c = stranger();
        for (let edits = 2 + rng.int(4); edits > 0; edits--) randomDraftEdit(c, rng);
        const text = c.getText(TicketDoc.draft);
        if (text.length > 0) c.transact(() => text.delete(boundary(text, rng.int(text.length)), 1));
        const copy = copyOf(server, rng.next() < 0.5 ? server.clientID : newClientId());
        const step2 = Y.encodeStateAsUpdate(c, Y.encodeStateVector(copy));
        const decoded = Y.decodeUpdate(step2);
        // Deleted text travels as items with deleted content, not as GC structs; the delete
        // set covers the whole document, the room's overwritten meta values included.
        expect(decoded.structs.some((s) => s instanceof Y.GC)).toBe(false);
        expect(decoded.ds.clients.has(server.clientID)).toBe(true);
        const was = server;
        server = copy;
        try {
          admitted("stock client step 2", step2, c);
        } finally {
          server = was;
        }
      },
      (rng) => {
        // A GC struct over clocks the room already has adds nothing: admitted, a no-op.
        const c = stranger();
        admitted("draft edit", draftInsert(c, rng), c);
        const before = snapshot(server);
        admitted("known GC range", gcUpdate(c.clientID, 0, 1 + rng.int(Y.getState(server.store, c.clientID))));
        expect(snapshot(server)).toEqual(before);
      },
    ];

    const SEEDS = 120;
    const CASES_PER_SEED = 30;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = prng(seed);
      server = serverDoc(rng, 500 + seed);
      for (let i = 0; i < CASES_PER_SEED; i++) cases[(seed + i) % cases.length]!(rng);
    }

    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    console.log(`draft guard fuzz: ${total} cases`, Object.fromEntries(counts));
    for (const category of [...REFUSED, ...ADMITTED]) expect(counts.get(category) ?? 0, category).toBeGreaterThan(20);
    expect(total).toBeGreaterThan(3_000);
  });

  it("refuses an item that continues a known non-draft item, admits one that continues a draft item", () => {
    // Client 77 is, say, the room before it last woke: its items are in the thread. An item
    // of 77 overlapping the known clocks is integrated from its first new clock, right of
    // 77's previous item, whatever its own origin says.
    const room = new Y.Doc();
    room.clientID = 500;
    const old = new Y.Doc();
    old.clientID = 77;
    old.getArray(TicketDoc.thread).push([message(1), message(2)]);
    Y.applyUpdate(room, Y.encodeStateAsUpdate(old));
    room.getText(TicketDoc.draft).insert(0, "Hello");
    const overThread = crafted([{ client: 77, clock: 0, items: [{ origin: [500, 4], text: "abX" }] }]);
    expect(isDraftOnlyUpdate(room, overThread)).toBe(false);

    const agent = new Y.Doc();
    agent.clientID = 88;
    Y.applyUpdate(agent, Y.encodeStateAsUpdate(room));
    agent.getText(TicketDoc.draft).insert(5, "ab");
    Y.applyUpdate(room, Y.encodeStateAsUpdate(agent, Y.encodeStateVector(room)));
    const overDraft = crafted([{ client: 88, clock: 0, items: [{ origin: [500, 4], text: "abX" }] }]);
    expect(isDraftOnlyUpdate(room, overDraft)).toBe(true);
    Y.applyUpdate(room, overDraft);
    expect(room.getText(TicketDoc.draft).toString()).toBe("HelloabX");
    expect(room.getArray(TicketDoc.thread).length).toBe(2);
  });

  it("follows dependencies across clients in Yjs's order, and refuses cycles and repeated clients", () => {
    const room = new Y.Doc();
    room.clientID = 500;
    room.getText(TicketDoc.draft).insert(0, "Hi");
    // Client 2 is integrated first (highest id) and waits for client 1's item.
    const chained = crafted([
      { client: 1, clock: 0, items: [{ origin: [500, 1], text: "b" }] },
      { client: 2, clock: 0, items: [{ origin: [1, 0], text: "a" }] },
    ]);
    expect(isDraftOnlyUpdate(room, chained)).toBe(true);
    const cycle = crafted([
      { client: 1, clock: 0, items: [{ origin: [2, 0], text: "b" }] },
      { client: 2, clock: 0, items: [{ origin: [1, 0], text: "a" }] },
    ]);
    expect(isDraftOnlyUpdate(room, cycle)).toBe(false);
    const selfReference = crafted([{ client: 3, clock: 0, items: [{ origin: [3, 0], text: "c" }] }]);
    expect(isDraftOnlyUpdate(room, selfReference)).toBe(false);
    const repeated = crafted([
      { client: 1, clock: 0, items: [{ parent: TicketDoc.draft, text: "b" }] },
      { client: 1, clock: 1, items: [{ parent: TicketDoc.draft, text: "c" }] },
    ]);
    expect(isDraftOnlyUpdate(room, repeated)).toBe(false);
    Y.applyUpdate(room, chained);
    expect(room.getText(TicketDoc.draft).toString()).toBe("Hiba");
    expect(room.store.pendingStructs).toBeNull();
  });

  it("refuses rather than throws on input Yjs itself cannot read", () => {
    const doc = new Y.Doc();
    doc.getText(TicketDoc.draft);
    for (const bytes of [new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(1, 1, 5, 0), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)]) {
      expect(isDraftOnlyUpdate(doc, bytes)).toBe(false);
    }
  });

  it("refuses everything when the document has no draft text", () => {
    const client = new Y.Doc();
    const update = capture(client, () => client.getText(TicketDoc.draft).insert(0, "hi"))!;
    const doc = new Y.Doc();
    expect(isDraftOnlyUpdate(doc, update)).toBe(false);
    expect(doc.share.size).toBe(0);
    doc.getText(TicketDoc.draft);
    expect(isDraftOnlyUpdate(doc, update)).toBe(true);
  });
});
