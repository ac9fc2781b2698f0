// The smallest fanout a Durable Object can do: every binary frame a socket sends is sent
// as it is to every other socket of the object. No decoding, no validation, no document.
// Reached the way the product reaches its AccountHub: the Worker's fetch hands the upgrade
// to `env.RELAY.get(idFromName(...)).fetch(request)` and returns the object's response.
// `?mode=hibernation` accepts with `ctx.acceptWebSocket` (as the hub does); `?mode=accept`
// with `server.accept()` and an event listener (sockets that keep the object awake).

export class Relay {
  constructor(ctx) {
    this.ctx = ctx;
    this.accepted = new Set();
  }

  async fetch(request) {
    const mode = new URL(request.url).searchParams.get("mode");
    const [client, server] = Object.values(new WebSocketPair());
    if (mode === "hibernation") {
      this.ctx.acceptWebSocket(server);
    } else {
      server.accept();
      // Binary messages arrive as Blobs otherwise (then sent on as the text "[object Blob]").
      server.binaryType = "arraybuffer";
      this.accepted.add(server);
      server.addEventListener("message", (event) => this.relay(server, event.data, this.accepted));
      server.addEventListener("close", () => this.accepted.delete(server));
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    this.relay(ws, message, this.ctx.getWebSockets());
  }

  webSocketClose(ws, code) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  relay(from, message, sockets) {
    for (const ws of sockets) if (ws !== from) ws.send(message);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    // findWorkerEntry() (bench/ingest/measure.ts) recognises the Worker's own entry by this.
    if (url.pathname === "/health") return Response.json({ ok: true, protocolVersion: 0 });
    if (request.headers.get("Upgrade") !== "websocket") return new Response("WebSocket only", { status: 426 });
    const mode = url.searchParams.get("mode") ?? "hibernation";
    return env.RELAY.get(env.RELAY.idFromName(mode)).fetch(request);
  },
};
