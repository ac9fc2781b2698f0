import { SELF } from "cloudflare:test";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { MessageType, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { signSession } from "../auth/tokens.ts";
import type { AgentIdentity } from "../auth/identity.ts";

// A y-protocols test client for workerd tests: a real socket through the Worker, a real
// Y.Doc and Awareness, and helpers that wait (with a timeout) for what arrives.

export const TEST_SECRET = "workers-test-secret-0123456789abcdef";

export const ana: AgentIdentity = { agentId: "agt_ana", accountId: "acc_demo", name: "Ana", role: "agent" };

export function tokenFor(identity: AgentIdentity, secret = TEST_SECRET): Promise<string> {
  return signSession(identity, secret);
}

export async function waitFor<T>(read: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Closed {
  code: number;
  reason: string;
}

export interface OpenOptions {
  /** Socket path (default `/live/inbox`). */
  path?: string;
  /** A document to sync (a client reconnecting with what it had). */
  doc?: Y.Doc;
}

export class LiveTestClient {
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly denied: string[] = [];
  readonly received: number[] = [];
  /** Text frames from the server (keepalive answers). */
  readonly texts: string[] = [];
  closed: Closed | undefined;
  private readonly ws: WebSocket;

  private constructor(ws: WebSocket, doc: Y.Doc) {
    this.ws = ws;
    this.doc = doc;
    this.awareness = new awarenessProtocol.Awareness(doc);
    clearInterval((this.awareness as unknown as { _checkInterval: ReturnType<typeof setInterval> })._checkInterval);
    this.awareness.setLocalState(null);
    ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.texts.push(event.data);
      else this.onFrame(new Uint8Array(event.data as ArrayBuffer));
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
    });
  }

  /** Opens a socket (default `/live/inbox`) with the given query string (defaults: current version, no token). */
  static async open(query: Record<string, string>, options: OpenOptions = {}): Promise<LiveTestClient> {
    const params = new URLSearchParams({ v: String(PROTOCOL_VERSION), ...query });
    const response = await SELF.fetch(`http://hub.test${options.path ?? "/live/inbox"}?${params}`, { headers: { Upgrade: "websocket" } });
    const ws = response.webSocket;
    if (!ws) throw new Error(`expected a WebSocket, got HTTP ${response.status}: ${await response.text()}`);
    ws.accept();
    // workerd hands a fetch-side socket's binary messages over as Blobs unless told otherwise.
    (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
    return new LiveTestClient(ws, options.doc ?? new Y.Doc());
  }

  static async openAs(identity: AgentIdentity, query: Record<string, string> = {}, options: OpenOptions = {}): Promise<LiveTestClient> {
    const client = await LiveTestClient.open({ token: await tokenFor(identity), ...query }, options);
    client.syncStep1();
    return client;
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(frame);
  }

  sendText(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(text);
  }

  syncStep1(): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.sync);
    syncProtocol.writeSyncStep1(encoder, this.doc);
    this.send(encoding.toUint8Array(encoder));
  }

  sendUpdate(update: Uint8Array): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.sync);
    syncProtocol.writeUpdate(encoder, update);
    this.send(encoding.toUint8Array(encoder));
  }

  /** Publishes an awareness state, as given (the server validates it). */
  publish(state: Record<string, unknown> | null, clientId = this.doc.clientID, clock = (this.publishedClock += 1)): void {
    const update = encoding.createEncoder();
    encoding.writeVarUint(update, 1);
    encoding.writeVarUint(update, clientId);
    encoding.writeVarUint(update, clock);
    encoding.writeVarString(update, JSON.stringify(state));
    const frame = encoding.createEncoder();
    encoding.writeVarUint(frame, MessageType.awareness);
    encoding.writeVarUint8Array(frame, encoding.toUint8Array(update));
    this.send(encoding.toUint8Array(frame));
  }
  private publishedClock = 0;

  /** Agent ids of every awareness state this client currently sees. */
  onlineAgents(): string[] {
    return [...this.awareness.getStates().values()].map((state) => String(state.agentId)).sort();
  }

  close(): void {
    this.ws.close(1000, "done");
  }

  async waitForClose(): Promise<Closed> {
    return waitFor(() => this.closed, "the socket to close");
  }

  private onFrame(frame: Uint8Array): void {
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    this.received.push(type);
    if (type === MessageType.sync) {
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, MessageType.sync);
      syncProtocol.readSyncMessage(decoder, reply, this.doc, "server");
      // Only answers to the server's step 1 carry content; they are empty for a read-only doc.
      if (encoding.length(reply) > 1) this.send(encoding.toUint8Array(reply));
    } else if (type === MessageType.awareness) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), "server");
    } else if (type === MessageType.auth) {
      decoding.readVarUint(decoder);
      this.denied.push(decoding.readVarString(decoder));
    }
  }
}

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string[]> };
}

/** A response body typed as the test expects it (the assertions check the shape). */
export async function readJson<T = ErrorBody>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** Logs a demo agent in through the real route; returns the session token. */
export async function loginToken(email: string): Promise<string> {
  const response = await SELF.fetch("http://hub.test/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: "demo-password" }),
  });
  if (response.status !== 200) throw new Error(`login failed for ${email}: ${response.status}`);
  return (await readJson<{ token: string }>(response)).token;
}
