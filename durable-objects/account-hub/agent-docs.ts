import * as Y from "yjs";
import type { AgentIdentity } from "../../worker/auth/identity.ts";
import { DocStore } from "../live/doc-store.ts";
import { LiveRoom, type LivePeer, type LiveRoomPolicy } from "../live/live-room.ts";

// Each agent's own `agent` document (AgentDoc in protocol/): their private views, those
// views' counts and which of them they follow. Every inbox socket syncs the whole inbox
// document (Yjs sync cannot leave parts of a document out per socket), so what only one
// agent may read lives here, synced only over that agent's `agent` sockets.
//
// A document is loaded when its agent connects (or when the hub writes to it while it is
// loaded) and persisted like the inbox, so a client's copy continues across restarts.

/** Server writes go out at most this often, merged (as the inbox's do). */
const BROADCAST_DELAY_MS = 20;

/** Read-only for clients, and no awareness: nothing here is about anyone else. */
const agentDocPolicy: LiveRoomPolicy<AgentIdentity> = {
  mayWrite: () => false,
  mayPublishAwareness: () => false,
  sameOwner: (a, b) => a.agentId === b.agentId && a.accountId === b.accountId,
  awarenessRate: { perSecond: 1, burst: 5 },
};

export class AgentDocument {
  readonly doc = new Y.Doc();
  readonly room: LiveRoom<AgentIdentity>;
  private readonly store: DocStore;
  private unsent: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(storage: DurableObjectStorage, agentId: string, peers: () => LivePeer<AgentIdentity>[]) {
    this.store = new DocStore(storage, `agent:${agentId}`);
    this.store.load(this.doc);
    this.room = new LiveRoom(this.doc, agentDocPolicy);
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin === this.store) return;
      this.store.append(this.doc, update);
      this.unsent.push(update);
      this.timer ??= setTimeout(() => {
        this.timer = null;
        const updates = this.unsent;
        this.unsent = [];
        if (updates.length > 0) this.room.broadcastDocUpdate(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), peers());
      }, BROADCAST_DELAY_MS);
    });
  }
}

/** The agent documents of one hub, by agent id, loaded on demand. */
export class AgentDocuments {
  private readonly loaded = new Map<string, AgentDocument>();
  private readonly storage: DurableObjectStorage;
  private readonly peersOf: (agentId: string) => LivePeer<AgentIdentity>[];

  constructor(storage: DurableObjectStorage, peersOf: (agentId: string) => LivePeer<AgentIdentity>[]) {
    this.storage = storage;
    this.peersOf = peersOf;
  }

  open(agentId: string): AgentDocument {
    let document = this.loaded.get(agentId);
    if (!document) {
      document = new AgentDocument(this.storage, agentId, () => this.peersOf(agentId));
      this.loaded.set(agentId, document);
    }
    return document;
  }

  /** Already loaded, or undefined: an agent not connected is brought up to date when they connect. */
  get(agentId: string): AgentDocument | undefined {
    return this.loaded.get(agentId);
  }

  agentIds(): string[] {
    return [...this.loaded.keys()];
  }
}
