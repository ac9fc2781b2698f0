import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";
import * as authProtocol from "y-protocols/auth";
import { MessageType, PermissionDeniedReason, SyncMessageType, type CloseReasonName } from "../../protocol/index.ts";
import { decodeAwarenessEntries } from "../../protocol/awareness.ts";

// Room logic shared by the Durable Objects: y-protocols sync on one document plus
// awareness, over whatever sockets the host hands in. It holds no socket list of its own
// (a hibernating Durable Object rebuilds its sockets from the runtime on every wake), so
// every call receives the current peers.

export interface LivePeer<Identity> {
  readonly identity: Identity;
  /** Awareness client ids this socket has published (kept in the socket attachment). */
  readonly awarenessIds: readonly number[];
  setAwarenessIds(ids: number[]): void;
  send(frame: Uint8Array): void;
  close(reason: CloseReasonName): void;
}

export interface LiveRoomPolicy<Identity> {
  /** Whether a peer may apply this non-empty document update. */
  mayWrite(update: Uint8Array, identity: Identity): boolean;
  /** Whether a peer may publish this awareness state (`null` removals are always allowed). */
  mayPublishAwareness(state: unknown, identity: Identity): boolean;
  /**
   * Whether two sockets belong to the same user: such a socket may take over awareness
   * client ids the other published (a browser's new leader tab taking over its other tabs).
   */
  sameOwner(a: Identity, b: Identity): boolean;
  /** Awareness updates a socket may send: a sustained rate and a burst (token bucket). */
  awarenessRate: { perSecond: number; burst: number };
}

/** A frame the room could not understand: the host closes that one socket. */
export class BadMessageError extends Error {}

export class LiveRoom<Identity> {
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  private readonly policy: LiveRoomPolicy<Identity>;
  /** Awareness tokens per socket; in memory only (a wake gives everyone a full bucket). */
  private readonly buckets = new WeakMap<LivePeer<Identity>, { tokens: number; at: number }>();

  constructor(doc: Y.Doc, policy: LiveRoomPolicy<Identity>) {
    this.doc = doc;
    this.policy = policy;
    this.awareness = new awarenessProtocol.Awareness(doc);
    // The stock Awareness renews and expires states on a 3 s interval; a timer would keep a
    // hibernating Durable Object awake. States here live exactly as long as their socket.
    clearInterval((this.awareness as unknown as { _checkInterval: ReturnType<typeof setInterval> })._checkInterval);
    this.awareness.setLocalState(null);
  }

  /** Frames a new socket gets: the server's sync step 1 and everyone's awareness. */
  welcome(peer: LivePeer<Identity>): void {
    const sync = encoding.createEncoder();
    encoding.writeVarUint(sync, MessageType.sync);
    syncProtocol.writeSyncStep1(sync, this.doc);
    peer.send(encoding.toUint8Array(sync));
    const known = [...this.awareness.getStates().keys()];
    if (known.length > 0) peer.send(this.awarenessFrame(known));
  }

  /** Asks every socket to re-send its awareness (after a wake, when states were lost). */
  queryAwareness(peers: Iterable<LivePeer<Identity>>): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.queryAwareness);
    const frame = encoding.toUint8Array(encoder);
    for (const peer of peers) peer.send(frame);
  }

  /** Handles one binary frame. Throws BadMessageError on anything malformed. */
  handleFrame(peer: LivePeer<Identity>, frame: Uint8Array, peers: () => Iterable<LivePeer<Identity>>): void {
    try {
      const decoder = decoding.createDecoder(frame);
      const type = decoding.readVarUint(decoder);
      switch (type) {
        case MessageType.sync:
          this.handleSync(peer, decoder);
          break;
        case MessageType.awareness:
          this.handleAwareness(peer, decoding.readVarUint8Array(decoder), peers);
          break;
        case MessageType.queryAwareness:
          peer.send(this.awarenessFrame([...this.awareness.getStates().keys()]));
          break;
        case MessageType.auth:
          // Clients have nothing to say on the auth channel; harmless, ignored.
          break;
        default:
          throw new BadMessageError(`unknown message type ${type}`);
      }
    } catch (error) {
      if (error instanceof BadMessageError) throw error;
      throw new BadMessageError(error instanceof Error ? error.message : String(error));
    }
  }

  /** Forgets the awareness states of a socket that went away and tells the others. */
  removePeer(peer: LivePeer<Identity>, peers: Iterable<LivePeer<Identity>>): void {
    const gone = peer.awarenessIds.filter((id) => this.awareness.getStates().has(id));
    if (gone.length === 0) return;
    awarenessProtocol.removeAwarenessStates(this.awareness, gone, peer);
    // Encoded after removal: a null state at the client's current clock, which receivers apply.
    this.broadcast(this.awarenessFrame(gone), peers, peer);
    // Forget the clocks too, so the same client reconnecting is accepted whatever its clock.
    for (const id of gone) this.awareness.meta.delete(id);
  }

  /** Sends a document update to every socket (but the one it came from, if any). */
  broadcastDocUpdate(update: Uint8Array, peers: Iterable<LivePeer<Identity>>, except?: LivePeer<Identity>): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.sync);
    syncProtocol.writeUpdate(encoder, update);
    this.broadcast(encoding.toUint8Array(encoder), peers, except);
  }

  private handleSync(peer: LivePeer<Identity>, decoder: decoding.Decoder): void {
    const subtype = decoding.readVarUint(decoder);
    if (subtype === SyncMessageType.step1) {
      const stateVector = decoding.readVarUint8Array(decoder);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MessageType.sync);
      syncProtocol.writeSyncStep2(encoder, this.doc, stateVector);
      peer.send(encoding.toUint8Array(encoder));
      return;
    }
    if (subtype !== SyncMessageType.step2 && subtype !== SyncMessageType.update) {
      throw new BadMessageError(`unknown sync message ${subtype}`);
    }
    const update = decoding.readVarUint8Array(decoder);
    if (isEmptyUpdate(update)) return;
    if (!this.policy.mayWrite(update, peer.identity)) {
      peer.send(permissionDenied(PermissionDeniedReason.readOnlyDocument));
      return;
    }
    Y.applyUpdate(this.doc, update, peer);
  }

  private handleAwareness(
    peer: LivePeer<Identity>,
    update: Uint8Array,
    peers: () => Iterable<LivePeer<Identity>>,
  ): void {
    if (!this.takeAwarenessToken(peer)) {
      peer.send(permissionDenied(PermissionDeniedReason.rateLimited));
      return;
    }
    const entries = decodeAwarenessEntries(update);
    const owned = new Set(peer.awarenessIds);
    const claimed = entries.map((entry) => entry.clientId).filter((id) => !owned.has(id));
    const handedOver: LivePeer<Identity>[] = [];
    if (claimed.length > 0) {
      for (const other of peers()) {
        if (other === peer || !other.awarenessIds.some((id) => claimed.includes(id))) continue;
        if (!this.policy.sameOwner(other.identity, peer.identity)) {
          peer.send(permissionDenied(PermissionDeniedReason.foreignAwareness));
          return;
        }
        handedOver.push(other);
      }
    }
    for (const entry of entries) {
      if (entry.state !== null && !this.policy.mayPublishAwareness(entry.state, peer.identity)) {
        peer.send(permissionDenied(PermissionDeniedReason.foreignAwareness));
        return;
      }
    }
    // The other socket no longer answers for these ids: its close must not remove them.
    for (const other of handedOver) other.setAwarenessIds(other.awarenessIds.filter((id) => !claimed.includes(id)));
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer);
    // A socket answers only for ids whose state is still here: a leader tab relays its
    // followers' removals, and a list that only grew would outgrow the socket attachment.
    const states = this.awareness.getStates();
    const live = [...owned, ...claimed].filter((id) => states.has(id));
    if (live.length !== owned.size || claimed.some((id) => states.has(id))) peer.setAwarenessIds(live);
    // Forget removed ids' clocks, as on close, so the room's memory does not grow with them.
    for (const entry of entries) if (entry.state === null && !states.has(entry.clientId)) this.awareness.meta.delete(entry.clientId);
    const frame = encoding.createEncoder();
    encoding.writeVarUint(frame, MessageType.awareness);
    encoding.writeVarUint8Array(frame, update);
    this.broadcast(encoding.toUint8Array(frame), peers(), peer);
  }

  private takeAwarenessToken(peer: LivePeer<Identity>): boolean {
    const { perSecond, burst } = this.policy.awarenessRate;
    const now = Date.now();
    const bucket = this.buckets.get(peer) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(peer, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Awareness states a socket has published (its own client ids only). */
  statesOf(peer: LivePeer<Identity>): unknown[] {
    const states = this.awareness.getStates();
    return peer.awarenessIds.filter((id) => states.has(id)).map((id) => states.get(id));
  }

  private awarenessFrame(clientIds: number[]): Uint8Array {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.awareness);
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clientIds));
    return encoding.toUint8Array(encoder);
  }

  private broadcast(frame: Uint8Array, peers: Iterable<LivePeer<Identity>>, except?: LivePeer<Identity>): void {
    for (const peer of peers) if (peer !== except) peer.send(frame);
  }
}

function permissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.auth);
  authProtocol.writePermissionDenied(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/** An update with no structs and no deletions: what a client with nothing new sends. */
function isEmptyUpdate(update: Uint8Array): boolean {
  const decoded = Y.decodeUpdate(update);
  return decoded.structs.length === 0 && decoded.ds.clients.size === 0;
}
