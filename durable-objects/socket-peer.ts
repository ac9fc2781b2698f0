import { CloseReason, SOCKET_SILENCE_LIMIT_MS, type CloseReasonName } from "../protocol/index.ts";
import type { LivePeer } from "./live/live-room.ts";

// Adapts a hibernatable WebSocket to the room's peer interface. Identity, the awareness ids
// a socket owns and the host's per-socket flags live in the socket attachment, which
// survives hibernation; the wrapper is cached per socket so the room can compare peers by
// identity.

/** What a host remembers per socket beyond identity (must stay small: attachments max 2 KiB). */
export interface SocketFlags {
  /** The client sends keepalives, so its silence means it is gone. */
  keepalive: boolean;
  /** Every awareness state the socket publishes says idle. */
  idle: boolean;
  connectedAt: number;
}

interface Attachment<Identity> {
  identity: Identity;
  awarenessIds: number[];
  flags: SocketFlags;
}

const peers = new WeakMap<WebSocket, LivePeer<unknown>>();
const attachments = new WeakMap<WebSocket, Attachment<unknown>>();

function attachmentOf<Identity>(ws: WebSocket): Attachment<Identity> {
  let attachment = attachments.get(ws) as Attachment<Identity> | undefined;
  if (!attachment) {
    const stored = ws.deserializeAttachment() as Partial<Attachment<Identity>>;
    attachment = {
      identity: stored.identity as Identity,
      awarenessIds: stored.awarenessIds ?? [],
      flags: stored.flags ?? { keepalive: false, idle: false, connectedAt: 0 },
    };
    attachments.set(ws, attachment as Attachment<unknown>);
  }
  return attachment;
}

function store<Identity>(ws: WebSocket, attachment: Attachment<Identity>): void {
  attachments.set(ws, attachment as Attachment<unknown>);
  ws.serializeAttachment(attachment);
}

export function attachIdentity<Identity>(ws: WebSocket, identity: Identity, flags: SocketFlags): void {
  store(ws, { identity, awarenessIds: [], flags });
}

export function socketFlags(ws: WebSocket): SocketFlags {
  return attachmentOf(ws).flags;
}

/** Updates the socket's flags; true if anything changed. */
export function setSocketFlags(ws: WebSocket, patch: Partial<SocketFlags>): boolean {
  const attachment = attachmentOf(ws);
  const flags = { ...attachment.flags, ...patch };
  if (flags.keepalive === attachment.flags.keepalive && flags.idle === attachment.flags.idle && flags.connectedAt === attachment.flags.connectedAt) {
    return false;
  }
  store(ws, { ...attachment, flags });
  return true;
}

export function peerFor<Identity>(ws: WebSocket): LivePeer<Identity> {
  const cached = peers.get(ws);
  if (cached) return cached as LivePeer<Identity>;
  const peer: LivePeer<Identity> = {
    identity: attachmentOf<Identity>(ws).identity,
    get awarenessIds() {
      return attachmentOf(ws).awarenessIds;
    },
    setAwarenessIds(ids) {
      store(ws, { ...attachmentOf(ws), awarenessIds: ids });
    },
    send(frame) {
      // A socket that is closing or closed is skipped rather than throwing into the room.
      if (ws.readyState !== WebSocket.OPEN) return;
      try {
        ws.send(frame);
      } catch {
        // The peer vanished between the check and the send; its close handler cleans up.
      }
    },
    close(reason: CloseReasonName) {
      try {
        ws.close(CloseReason[reason].code, CloseReason[reason].reason);
      } catch {
        // Already closed.
      }
    },
  };
  peers.set(ws, peer as LivePeer<unknown>);
  return peer;
}

/** Completes the closing handshake a client started (1005/1006: it gave no code). */
export function completeClose(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  } catch {
    // Already closed.
  }
}

/**
 * Sockets that promised keepalives (`ka=1`) and have said nothing, keepalives included
 * (answered by the runtime, so read from its timestamp), for SOCKET_SILENCE_LIMIT_MS: a
 * laptop that slept without closing them. Stock clients, which promise none, are never here.
 */
export function silentSockets(ctx: DurableObjectState, lastFrameAt: WeakMap<WebSocket, number>, now: number): WebSocket[] {
  return ctx.getWebSockets().filter((ws) => {
    const flags = socketFlags(ws);
    if (!flags.keepalive) return false;
    const answered = ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return now - Math.max(answered, lastFrameAt.get(ws) ?? 0, flags.connectedAt) > SOCKET_SILENCE_LIMIT_MS;
  });
}
