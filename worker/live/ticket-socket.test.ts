import { env, evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import * as Y from "yjs";
import { beforeAll, describe, expect, it } from "vitest";
import { runAlarmAt } from "../test-support/alarm-at.ts";
import { CloseReason, KEEPALIVE_QUERY_PARAM, LivePath, MAX_CLIENT_FRAME_BYTES, PermissionDeniedReason, SOCKET_SILENCE_LIMIT_MS } from "../../protocol/index.ts";
import { TicketDoc, type ThreadMessage, type TicketMeta } from "../../protocol/ticket-doc.ts";
import { LiveTestClient, loginToken, readJson, waitFor } from "../test-support/live-client.ts";
import type { AgentIdentity } from "../auth/identity.ts";
import { ticketRoom } from "../tickets/rooms.ts";

// The live ticket socket end to end through the Worker: the room's document (thread and
// meta written by the room, the draft co-edited), the probes' closes, the draft guard on
// the wire, sending the draft, and a room restart mid co-edit.

const ana: AgentIdentity = { agentId: "agt_demo_ana", accountId: "acc_demo", name: "Ana", role: "agent" };
const ben: AgentIdentity = { agentId: "agt_demo_ben", accountId: "acc_demo", name: "Ben", role: "agent" };
const olive: AgentIdentity = { agentId: "agt_other_owner", accountId: "acc_other", name: "Olive Owner", role: "admin" };

let anaToken: string;

beforeAll(async () => {
  anaToken = await loginToken("ana@demo.shop");
});

function api(path: string, method = "GET", body?: unknown): Promise<Response> {
  return SELF.fetch(`http://hub.test/api/tickets${path}`, {
    method,
    headers: { Authorization: `Bearer ${anaToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function createTicket(): Promise<string> {
  const response = await api("", "POST", { customer: { email: "live.ticket@example.com" }, subject: "Live ticket", body: "Where is my order?" });
  expect(response.status).toBe(201);
  return (await readJson<{ ticket: { id: string } }>(response)).ticket.id;
}

function open(identity: AgentIdentity, ticketId: string, options: { doc?: Y.Doc; query?: Record<string, string> } = {}) {
  return LiveTestClient.openAs(identity, options.query ?? {}, { path: `${LivePath.tickets}/${ticketId}`, doc: options.doc });
}

const thread = (client: LiveTestClient) => client.doc.getArray<ThreadMessage>(TicketDoc.thread).toArray();
const meta = (client: LiveTestClient) => client.doc.getMap<unknown>(TicketDoc.meta).toJSON() as Partial<TicketMeta>;
const draft = (client: LiveTestClient) => client.doc.getText(TicketDoc.draft).toString();

/** Types into the client's draft and sends the edit, as a provider would. */
function type(client: LiveTestClient, index: number, text: string): void {
  const before = Y.encodeStateVector(client.doc);
  client.doc.getText(TicketDoc.draft).insert(index, text);
  client.sendUpdate(Y.encodeStateAsUpdate(client.doc, before));
}

describe("probes", () => {
  it("closes another account's ticket and an unknown ticket the same way", async () => {
    const ticketId = await createTicket();
    const foreign = await open(olive, ticketId);
    const unknown = await open(ana, "tkt_does_not_exist");
    const foreignClose = await foreign.waitForClose();
    const unknownClose = await unknown.waitForClose();
    expect(foreignClose).toEqual({ code: CloseReason.NOT_FOUND.code, reason: CloseReason.NOT_FOUND.reason });
    expect(unknownClose).toEqual(foreignClose);
  });

  it("closes a stale client with CLIENT_TOO_OLD and a missing token with UNAUTHORIZED", async () => {
    const ticketId = await createTicket();
    const stale = await LiveTestClient.open({ v: "0", token: anaToken }, { path: `${LivePath.tickets}/${ticketId}` });
    expect((await stale.waitForClose()).reason).toBe("CLIENT_TOO_OLD");
    const anonymous = await LiveTestClient.open({}, { path: `${LivePath.tickets}/${ticketId}` });
    expect((await anonymous.waitForClose()).reason).toBe("UNAUTHORIZED");
  });
});

describe("the ticket document", () => {
  it("shows every change the room commits at once: thread, meta, notes and customer messages", async () => {
    const ticketId = await createTicket();
    const client = await open(ana, ticketId);
    await waitFor(() => thread(client).length === 1, "the first message");
    expect(thread(client)[0]).toMatchObject({ seq: 1, authorKind: "customer", body: "Where is my order?" });
    expect(meta(client)).toMatchObject({ id: ticketId, status: "open", priority: "normal" });

    expect((await api(`/${ticketId}`, "PATCH", { priority: "urgent", status: "pending" })).status).toBe(200);
    await waitFor(() => meta(client).priority === "urgent" && meta(client).status === "pending", "the new meta");
    expect((await api(`/${ticketId}/notes`, "POST", { body: "Checking with the warehouse" })).status).toBe(201);
    await waitFor(() => thread(client).length === 2, "the note");
    expect(thread(client)[1]).toMatchObject({ seq: 2, authorKind: "agent", isInternalNote: true });
    const ref = { accountId: "acc_demo", ticketId };
    await ticketRoom(env, ref).addMessage(ref, { id: `msg_cust_${ticketId}`, authorKind: "customer", authorId: null, body: "Any news?" }, { kind: "customer", id: "cus_x" });
    await waitFor(() => thread(client).length === 3, "the customer's message");
    const held = await ticketRoom(env, ref).ticket(ref);
    await waitFor(() => held.ok && meta(client).version === held.value.version, "the room's version");
    client.close();
  });

  it("lets agents co-edit the draft, refuses writes elsewhere, and sends the draft once for everyone", async () => {
    const ticketId = await createTicket();
    const a = await open(ana, ticketId);
    const b = await open(ben, ticketId);
    await waitFor(() => thread(a).length === 1 && thread(b).length === 1, "both synced");
    type(a, 0, "Hello, ");
    await waitFor(() => draft(b) === "Hello, ", "ben to see ana's text");
    type(b, 7, "your parcel left today.");
    await waitFor(() => draft(a) === "Hello, your parcel left today.", "ana to see ben's text");

    // A write to a server-owned root is refused and reaches nobody.
    const before = Y.encodeStateVector(a.doc);
    const forged = new Y.Doc();
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(b.doc));
    const sv = Y.encodeStateVector(forged);
    forged.getMap(TicketDoc.meta).set("status", "closed");
    b.sendUpdate(Y.encodeStateAsUpdate(forged, sv));
    await waitFor(() => b.denied.includes(PermissionDeniedReason.readOnlyDocument), "the refusal");
    expect(b.closed).toBeUndefined();

    const seen = thread(a).at(-1)!.seq;
    const sent = await api(`/${ticketId}/draft/send`, "POST", { mode: "reply", seenThroughSeq: seen });
    expect(sent.status).toBe(201);
    const { message } = await readJson<{ message: ThreadMessage }>(sent);
    expect(message).toMatchObject({ body: "Hello, your parcel left today.", authorId: ana.agentId, isInternalNote: false });
    expect(message.coAuthorIds?.sort()).toEqual([ana.agentId, ben.agentId]);
    await waitFor(() => draft(a) === "" && draft(b) === "", "the draft cleared for both");
    await waitFor(() => thread(a).at(-1)?.id === message.id && thread(b).at(-1)?.id === message.id, "the reply in both threads");
    expect(meta(a).status).not.toBe("closed");
    expect(Y.encodeStateVector(a.doc)).not.toEqual(before);
    // A draft over a message's limit is refused on send, and stays.
    type(a, 0, "x".repeat(100_001));
    await waitFor(() => draft(b).length === 100_001, "the long draft at ben");
    const tooLong = await api(`/${ticketId}/draft/send`, "POST", { mode: "note", seenThroughSeq: seen + 1 });
    expect(tooLong.status).toBe(413);
    expect((await readJson(tooLong)).error.code).toBe("DRAFT_TOO_LONG");
    const clearing = Y.encodeStateVector(a.doc);
    a.doc.getText(TicketDoc.draft).delete(0, 100_001);
    a.sendUpdate(Y.encodeStateAsUpdate(a.doc, clearing));
    await waitFor(() => draft(b) === "", "the draft emptied at ben");
    // Nothing left to send.
    expect((await api(`/${ticketId}/draft/send`, "POST", { mode: "reply", seenThroughSeq: seen + 1 })).status).toBe(409);
    a.close();
    b.close();
  });

  it("holds a send when the customer wrote since the agent last looked, keeping the text", async () => {
    const ticketId = await createTicket();
    const a = await open(ana, ticketId);
    await waitFor(() => thread(a).length === 1, "synced");
    const seen = thread(a).at(-1)!.seq;
    type(a, 0, "We will refund you.");
    const ref = { accountId: "acc_demo", ticketId };
    await ticketRoom(env, ref).addMessage(ref, { id: `msg_late_${ticketId}`, authorKind: "customer", authorId: null, body: "Never mind, it arrived!" }, { kind: "customer", id: "cus_x" });
    await waitFor(() => draft(a) === "We will refund you." && thread(a).length === 2, "the draft and the new message");

    const held = await api(`/${ticketId}/draft/send`, "POST", { mode: "reply", seenThroughSeq: seen });
    expect(held.status).toBe(409);
    const body = await readJson<{ error: { code: string }; arrived: ThreadMessage[] }>(held);
    expect(body.error.code).toBe("THREAD_CHANGED");
    expect(body.arrived.map((m) => m.body)).toEqual(["Never mind, it arrived!"]);
    expect(draft(a)).toBe("We will refund you.");
    // An internal note is never held, and after looking, the reply goes.
    expect((await api(`/${ticketId}/draft/send`, "POST", { mode: "reply", seenThroughSeq: seen + 1 })).status).toBe(201);
    a.close();
  });
});

describe("relaying draft edits", () => {
  it("sends a burst of keystrokes to the others in fewer frames than keystrokes, converging", async () => {
    const ticketId = await createTicket();
    const a = await open(ana, ticketId);
    const b = await open(ben, ticketId);
    await waitFor(() => thread(a).length === 1 && thread(b).length === 1, "both synced");
    const framesBefore = b.received.length;
    const text = "thank you for waiting";
    for (let i = 0; i < text.length; i++) type(a, i, text[i]!);
    await waitFor(() => draft(b) === text, "ben to have every keystroke");
    const syncFrames = b.received.slice(framesBefore).length;
    expect(syncFrames).toBeLessThan(text.length);
    a.close();
    b.close();
  });
});

describe("bad input on the ticket socket", () => {
  it("closes only the socket that sent garbage, an oversized frame or a text frame", async () => {
    const ticketId = await createTicket();
    const bystander = await open(ben, ticketId);
    const garbage = await open(ana, ticketId);
    garbage.send(new Uint8Array([99, 1, 2, 3]));
    expect((await garbage.waitForClose()).reason).toBe("BAD_MESSAGE");
    const big = await open(ana, ticketId);
    big.send(new Uint8Array(MAX_CLIENT_FRAME_BYTES + 1));
    expect((await big.waitForClose()).reason).toBe("MESSAGE_TOO_BIG");
    const text = await open(ana, ticketId);
    text.sendText("hello");
    expect((await text.waitForClose()).reason).toBe("BAD_MESSAGE");
    // The bystander still works.
    const writer = await open(ana, ticketId);
    await waitFor(() => thread(writer).length === 1, "synced");
    type(writer, 0, "still here");
    await waitFor(() => draft(bystander) === "still here", "the bystander to get the edit");
    expect(bystander.closed).toBeUndefined();
  });

  it("refuses awareness for another agent or with unknown fields, and relays a valid cursor", async () => {
    const ticketId = await createTicket();
    const a = await open(ana, ticketId);
    const b = await open(ben, ticketId);
    a.publish({ agentId: ben.agentId, name: "Ben" });
    await waitFor(() => a.denied.includes(PermissionDeniedReason.foreignAwareness), "the foreign refusal");
    a.publish({ agentId: ana.agentId, name: "Ana", secret: "x" });
    await waitFor(() => a.denied.filter((reason) => reason === PermissionDeniedReason.foreignAwareness).length === 2, "the unknown-field refusal");
    a.publish({ agentId: ana.agentId, name: "Ana", color: "#ff0066", typing: true, mode: "note", cursor: { anchor: { type: null }, head: { type: null } } });
    await waitFor(() => b.onlineAgents().includes(ana.agentId), "ana's cursor at ben");
    expect(b.onlineAgents()).toEqual([ana.agentId]);
    a.close();
    b.close();
  });
});

describe("a room restart mid co-edit", () => {
  for (const webSockets of ["hibernate", "close"] as const) {
    it(`loses no keystroke and converges (sockets ${webSockets === "hibernate" ? "kept" : "closed"})`, async () => {
      const ticketId = await createTicket();
      let a = await open(ana, ticketId);
      let b = await open(ben, ticketId);
      await waitFor(() => thread(a).length === 1 && thread(b).length === 1, "both synced");
      type(a, 0, "abc");
      type(b, 0, "xyz");
      await waitFor(() => draft(a).length === 6 && draft(b).length === 6, "both edits relayed");
      // Evicted before the room stored these edits (it stores draft edits a moment later):
      // the fault drops what the room held unsaved, as a crash in that window would.
      const ref = { accountId: "acc_demo", ticketId };
      await runInDurableObject(ticketRoom(env, ref), (instance) => {
        const live = (instance as unknown as { live: { unsaved: Uint8Array[]; saveTimer: ReturnType<typeof setTimeout> | null } }).live;
        expect(live.unsaved.length).toBeGreaterThan(0);
        if (live.saveTimer !== null) clearTimeout(live.saveTimer);
        live.saveTimer = null;
        live.unsaved = [];
      });
      await evictDurableObject(ticketRoom(env, ref), { webSockets });
      if (webSockets === "close") {
        await a.waitForClose();
        await b.waitForClose();
        a = await open(ana, ticketId, { doc: a.doc });
        b = await open(ben, ticketId, { doc: b.doc });
      }
      type(a, 0, "1");
      type(b, draft(b).length, "2");
      await waitFor(() => draft(a).length === 8 && draft(a) === draft(b), "convergence", 10_000);
      // A third agent joining now gets every keystroke from the room itself.
      const c = await open(ana, ticketId);
      await waitFor(() => draft(c) === draft(a), "the room to hold everything", 10_000);
      for (const char of "abcxyz12") expect(draft(c)).toContain(char);
      a.close();
      b.close();
      c.close();
    });
  }
});

describe("silent sockets", () => {
  it("closes a keepalive ticket socket that fell silent, and its cursor goes with it", async () => {
    const ticketId = await createTicket();
    const sleeper = await open(ana, ticketId, { query: { [KEEPALIVE_QUERY_PARAM]: "1" } });
    const watcher = await open(ben, ticketId);
    sleeper.publish({ agentId: ana.agentId, name: "Ana", typing: true });
    await waitFor(() => watcher.onlineAgents().includes(ana.agentId), "ana's state at ben");
    const ref = { accountId: "acc_demo", ticketId };
    // Seen from a minute past the silence limit: the keepalive socket is gone, the stock one is not.
    await runAlarmAt(ticketRoom(env, ref), Date.now() + SOCKET_SILENCE_LIMIT_MS + 60_000);
    expect((await sleeper.waitForClose()).reason).toBe("KEEPALIVE_TIMEOUT");
    await waitFor(() => !watcher.onlineAgents().includes(ana.agentId), "ana's cursor gone at ben");
    expect(watcher.closed).toBeUndefined();
    watcher.close();
  });
});
