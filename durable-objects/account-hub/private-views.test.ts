import { SELF, env } from "cloudflare:test";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { AgentDoc, InboxDoc, LivePath, MessageType, PROTOCOL_VERSION, type InboxView } from "../../protocol/index.ts";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { readJson, tokenFor, waitFor } from "../../worker/test-support/live-client.ts";
import { createReadFixture, type ReadFixture } from "../../worker/test-support/read-fixture.ts";

// An agent's private views (name, id, count) reach that agent's sockets only: other agents'
// sockets never receive a byte of them, and the owner still gets their counts live.

let fx: ReadFixture;
let sharedViewId: string;
let privateViewId: string;
const PRIVATE_NAME = "Ana's secret stash";

/** A raw socket that syncs its document and keeps every frame it received, undecoded. */
interface RawSocket {
  doc: Y.Doc;
  frames: Uint8Array[];
  close(): void;
}

async function openRaw(path: string, who: AgentIdentity): Promise<RawSocket> {
  const params = new URLSearchParams({ v: String(PROTOCOL_VERSION), token: await tokenFor(who) });
  const response = await SELF.fetch(`http://hub.test${path}?${params}`, { headers: { Upgrade: "websocket" } });
  const ws = response.webSocket;
  if (!ws) throw new Error(`expected a WebSocket on ${path}, got HTTP ${response.status}`);
  ws.accept();
  (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
  const doc = new Y.Doc();
  const frames: Uint8Array[] = [];
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string") return;
    const frame = new Uint8Array(event.data as ArrayBuffer);
    frames.push(frame);
    const decoder = decoding.createDecoder(frame);
    if (decoding.readVarUint(decoder) !== MessageType.sync) return;
    const reply = encoding.createEncoder();
    encoding.writeVarUint(reply, MessageType.sync);
    syncProtocol.readSyncMessage(decoder, reply, doc, "server");
    if (encoding.length(reply) > 1) ws.send(encoding.toUint8Array(reply));
  });
  const step1 = encoding.createEncoder();
  encoding.writeVarUint(step1, MessageType.sync);
  syncProtocol.writeSyncStep1(step1, doc);
  ws.send(encoding.toUint8Array(step1));
  return { doc, frames, close: () => ws.close(1000, "done") };
}

/** Whether `needle` occurs anywhere in what a socket received. */
function received(socket: RawSocket, needle: string): boolean {
  const bytes = new TextEncoder().encode(needle);
  return socket.frames.some((frame) => {
    outer: for (let i = 0; i + bytes.length <= frame.length; i++) {
      for (let j = 0; j < bytes.length; j++) if (frame[i + j] !== bytes[j]) continue outer;
      return true;
    }
    return false;
  });
}

beforeAll(async () => {
  fx = await createReadFixture("private");
  sharedViewId = `view_shared_${fx.accountId}`;
  privateViewId = `view_private_${fx.accountId}`;
  await fx.shard.client.batch(
    [
      {
        sql: "INSERT INTO views (id, account_id, name, filter, position, owner_agent_id) VALUES (?, ?, 'Open tickets', ?, 0, NULL)",
        args: [sharedViewId, fx.accountId, JSON.stringify({ status: ["open"] })],
      },
      {
        sql: "INSERT INTO views (id, account_id, name, filter, position, owner_agent_id) VALUES (?, ?, ?, ?, 1, ?)",
        args: [privateViewId, fx.accountId, PRIVATE_NAME, JSON.stringify({ status: ["open"] }), fx.agent.agentId],
      },
      { sql: "INSERT INTO view_follows (account_id, agent_id, view_id) VALUES (?, ?, ?)", args: [fx.accountId, fx.agent.agentId, privateViewId] },
    ],
    "write",
  );
  await env.ACCOUNT_HUB.get(env.ACCOUNT_HUB.idFromName(fx.accountId)).reloadConfig(fx.accountId);
});

afterAll(async () => {
  await fx.shard.client.execute({ sql: "DELETE FROM view_follows WHERE account_id = ?", args: [fx.accountId] });
  await fx.shard.client.execute({ sql: "DELETE FROM views WHERE account_id = ?", args: [fx.accountId] });
  await fx.drop();
});

describe("private views", () => {
  it("never reach another agent's socket, and reach their owner's live", async () => {
    const ana = fx.agent;
    const admin = fx.admin;
    const adminInbox = await openRaw(LivePath.inbox, admin);
    const adminCounts = adminInbox.doc.getMap<number>(InboxDoc.counts);
    await waitFor(() => adminInbox.doc.getMap<InboxView>(InboxDoc.views).has(sharedViewId) && adminCounts.has(sharedViewId), "the shared view and its count");
    expect(received(adminInbox, "Open tickets")).toBe(true);
    expect(received(adminInbox, PRIVATE_NAME)).toBe(false);
    expect(received(adminInbox, privateViewId)).toBe(false);

    // The owner: their own document has the view, its count and their follow.
    const anaOwn = await openRaw(LivePath.agent, ana);
    const anaViews = anaOwn.doc.getMap<InboxView>(AgentDoc.views);
    const anaCounts = anaOwn.doc.getMap<number>(AgentDoc.counts);
    await waitFor(() => anaViews.has(privateViewId) && anaCounts.has(privateViewId), "ana's private view and its count");
    expect(anaViews.get(privateViewId)).toMatchObject({ name: PRIVATE_NAME, ownerAgentId: ana.agentId });
    expect(anaOwn.doc.getMap<boolean>(AgentDoc.followedViews).get(privateViewId)).toBe(true);
    const before = anaCounts.get(privateViewId)!;
    expect(before).toBe(adminCounts.get(sharedViewId)); // the same filter

    // Another agent's own document holds nothing of ana's.
    const adminOwn = await openRaw(LivePath.agent, admin);
    await waitFor(() => adminOwn.frames.length > 0, "the admin's own document");

    // A new open ticket: both counts move, each only where it belongs.
    const created = await SELF.fetch("http://hub.test/api/tickets", {
      method: "POST",
      headers: { Authorization: `Bearer ${await tokenFor(admin)}`, "Content-Type": "application/json" },
      body: JSON.stringify({ customer: { email: "private@example.com" }, subject: "New", body: "Hi" }),
    });
    expect(created.status).toBe(201);
    const { ticket } = await readJson<{ ticket: { id: string } }>(created);
    await waitFor(() => anaCounts.get(privateViewId) === before + 1, "ana's private count, live");
    await waitFor(() => adminCounts.get(sharedViewId) === before + 1, "the shared count, live");
    expect(ticket.id).toBeTruthy();

    for (const socket of [adminInbox, adminOwn]) {
      expect(received(socket, PRIVATE_NAME)).toBe(false);
      expect(received(socket, privateViewId)).toBe(false);
    }
    expect(adminOwn.doc.getMap(AgentDoc.views).size).toBe(0);
    expect(adminOwn.doc.getMap(AgentDoc.counts).size).toBe(0);
    for (const socket of [adminInbox, anaOwn, adminOwn]) socket.close();
  });
});
