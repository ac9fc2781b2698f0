import { CloseReason, type CloseReasonName } from "../protocol/index.ts";
import type { LivePeer } from "./live/live-room.ts";

// Adapts a hibernatable WebSocket to the room's peer interface. Identity and the awareness
// ids a socket owns live in the socket attachment, which survives hibernation; the wrapper
// is cached per socket so the room can compare peers by identity.

interface Attachment<Identity> {
  identity: Identity;
  awarenessIds: number[];
}

const peers = new WeakMap<WebSocket, LivePeer<unknown>>();

export function attachIdentity<Identity>(ws: WebSocket, identity: Identity): void {
  ws.serializeAttachment({ identity, awarenessIds: [] } satisfies Attachment<Identity>);
}

export function peerFor<Identity>(ws: WebSocket): LivePeer<Identity> {
  const cached = peers.get(ws);
  if (cached) return cached as LivePeer<Identity>;
  let attachment = ws.deserializeAttachment() as Attachment<Identity>;
  const peer: LivePeer<Identity> = {
    identity: attachment.identity,
    get awarenessIds() {
      return attachment.awarenessIds;
    },
    setAwarenessIds(ids) {
      attachment = { ...attachment, awarenessIds: ids };
      ws.serializeAttachment(attachment);
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
