import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { CloseReason, InboxDoc, LivePath, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { TicketDoc } from "../../protocol/ticket-doc.ts";
import { login as loginTo, useStack } from "../support/stack-fixture.ts";

// The real stack: the libSQL shard host on its files, migrations, the demo seed and the
// Worker with its Durable Objects in workerd (wrangler dev), driven over HTTP and WebSocket.

const current = useStack();

function login(email: string) {
  return loginTo(current(), email);
}

function wsBase(): string {
  return current().baseUrl.replace(/^http/, "ws");
}

function provider(token: string, doc = new Y.Doc()): WebsocketProvider {
  return new WebsocketProvider(`${wsBase()}/live`, LivePath.inbox.replace("/live/", ""), doc, {
    params: { v: String(PROTOCOL_VERSION), token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the local stack", () => {
  it("is healthy with every shard reachable", async () => {
    const response = await fetch(`${current().baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      protocolVersion: PROTOCOL_VERSION,
      shards: [
        { index: 0, ok: true },
        { index: 1, ok: true },
      ],
    });
  });

  it("logs a demo agent in and answers /api/me from the shard", async () => {
    const { token, agent } = await login("ana@demo.shop");
    const me = await fetch(`${current().baseUrl}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { agent: { id: string; email: string } }).agent).toMatchObject({
      id: agent.id,
      email: "ana@demo.shop",
    });
  });

  it("serves the agent app, with index.html as the fallback for app routes", async () => {
    for (const path of ["/", "/tickets/123"]) {
      const response = await fetch(`${current().baseUrl}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(await response.text()).toContain("<script");
    }
  });

  it("lets a stock y-websocket client sync the inbox, relays awareness, and refuses its writes", async () => {
    const ana = await login("ana@demo.shop");
    const ben = await login("ben@demo.shop");
    const anaProvider = provider(ana.token);
    const benProvider = provider(ben.token);
    try {
      anaProvider.awareness.setLocalState({ agentId: ana.agent.id, name: ana.agent.name });
      benProvider.awareness.setLocalState({ agentId: ben.agent.id, name: ben.agent.name });
      await until(() => anaProvider.synced && benProvider.synced, "both synced");
      const agents = anaProvider.doc.getMap(InboxDoc.agents);
      await until(() => agents.has(ana.agent.id) && agents.has(ben.agent.id), "both agents in the inbox");

      const seenBy = (p: WebsocketProvider) => [...p.awareness.getStates().values()].map((s) => s.agentId);
      await until(() => seenBy(anaProvider).includes(ben.agent.id), "ana sees ben online");
      await until(() => seenBy(benProvider).includes(ana.agent.id), "ben sees ana online");

      // A write from the stock client is refused by the hub and never reaches anyone else.
      anaProvider.doc.getMap(InboxDoc.agents).set("agt_mallory", { name: "Mallory", role: "admin" });
      const reader = provider(ben.token);
      try {
        await until(() => reader.synced && reader.doc.getMap(InboxDoc.agents).has(ana.agent.id), "reader synced");
        expect(reader.doc.getMap(InboxDoc.agents).has("agt_mallory")).toBe(false);
        expect(benProvider.doc.getMap(InboxDoc.agents).has("agt_mallory")).toBe(false);
      } finally {
        reader.destroy();
      }
    } finally {
      anaProvider.destroy();
      benProvider.destroy();
    }
  });

  it("lets stock y-websocket clients read a ticket's document and co-edit its draft, refusing other writes", async () => {
    const ana = await login("ana@demo.shop");
    const ben = await login("ben@demo.shop");
    const created = await fetch(`${current().baseUrl}/api/tickets`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ana.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ customer: { email: "stock.client@example.com" }, subject: "Stock client", body: "Hello from the shop" }),
    });
    expect(created.status).toBe(201);
    const ticketId = ((await created.json()) as { ticket: { id: string } }).ticket.id;
    const ticketProvider = (token: string) =>
      new WebsocketProvider(`${wsBase()}${LivePath.tickets}`, ticketId, new Y.Doc(), {
        params: { v: String(PROTOCOL_VERSION), token },
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      });
    const anaProvider = ticketProvider(ana.token);
    const benProvider = ticketProvider(ben.token);
    try {
      anaProvider.awareness.setLocalState({ agentId: ana.agent.id, name: ana.agent.name });
      benProvider.awareness.setLocalState({ agentId: ben.agent.id, name: ben.agent.name });
      const thread = (p: WebsocketProvider) => p.doc.getArray<{ body: string }>(TicketDoc.thread).toArray();
      await until(() => thread(anaProvider).length === 1 && thread(benProvider).length === 1, "both read the thread");
      expect(thread(anaProvider)[0]!.body).toBe("Hello from the shop");
      anaProvider.doc.getText(TicketDoc.draft).insert(0, "Typed by a stock client");
      await until(() => benProvider.doc.getText(TicketDoc.draft).toString() === "Typed by a stock client", "ben sees the draft");
      // A write outside the draft is refused and reaches nobody.
      anaProvider.doc.getMap(TicketDoc.meta).set("status", "closed");
      const reader = ticketProvider(ben.token);
      try {
        await until(() => reader.synced && reader.doc.getText(TicketDoc.draft).toString() === "Typed by a stock client", "reader synced");
        expect(reader.doc.getMap(TicketDoc.meta).get("status")).toBe("open");
        expect(benProvider.doc.getMap(TicketDoc.meta).get("status")).toBe("open");
      } finally {
        reader.destroy();
      }
    } finally {
      anaProvider.destroy();
      benProvider.destroy();
    }
  });

  it("closes sockets with the named reasons from protocol/", async () => {
    const { token } = await login("ana@demo.shop");
    const cases: [string, keyof typeof CloseReason][] = [
      [`v=${PROTOCOL_VERSION}`, "UNAUTHORIZED"],
      [`v=${PROTOCOL_VERSION}&token=not-a-token`, "UNAUTHORIZED"],
      [`v=0&token=${token}`, "CLIENT_TOO_OLD"],
      [`v=${PROTOCOL_VERSION}&token=${token}&account=acc_other`, "FORBIDDEN"],
    ];
    for (const [query, expected] of cases) {
      const socket = new WebSocket(`${wsBase()}${LivePath.inbox}?${query}`);
      const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
        socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
        socket.on("error", reject);
      });
      expect(closed).toEqual(CloseReason[expected]);
    }
  });
});
