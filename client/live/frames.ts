// The client's side of the y-protocols wire: building the frames a read-only client sends
// and decoding what the server sends. No sockets here, so a future transport (a leader tab
// relaying frames to its followers) can reuse it unchanged.

import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import type * as Y from "yjs";
import { AuthMessageType, MessageType, SyncMessageType } from "../../protocol/index.ts";

/** A Yjs v1 update that contains nothing (no structs, empty delete set). */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

/** Sync step 1: our state vector, asking the server for everything we lack. */
export function encodeSyncStep1(doc: Y.Doc): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  syncProtocol.writeSyncStep1(encoder, doc);
  return encoding.toUint8Array(encoder);
}

/**
 * Our answer to the server's sync step 1. The inbox document is server-owned and clients
 * never write it, so the answer is always an empty update: even if our copy held something
 * the server lacks (say, the server lost state), we must not push it back.
 */
export function encodeEmptySyncStep2(): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, SyncMessageType.step2);
  encoding.writeVarUint8Array(encoder, EMPTY_UPDATE);
  return encoding.toUint8Array(encoder);
}

/**
 * Our answer to the server's sync step 1 on a document clients may write (a ticket's draft):
 * everything we hold that the server's state vector lacks, so edits made offline, or kept in
 * the browser from an earlier visit, reach the server.
 */
export function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  syncProtocol.writeSyncStep2(encoder, doc, stateVector);
  return encoding.toUint8Array(encoder);
}

/** A sync update frame: a local edit of a writable document. */
export function encodeSyncUpdate(update: Uint8Array): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  syncProtocol.writeUpdate(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** An awareness frame carrying the states of `clients` at the clocks `awareness` holds. */
export function encodeAwareness(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  return encoding.toUint8Array(encoder);
}

/** An awareness frame carrying an already encoded awareness update. */
export function encodeAwarenessUpdateFrame(update: Uint8Array): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** A decoded server frame. */
export type ServerFrame =
  | { type: "sync-step1"; stateVector: Uint8Array }
  | { type: "sync-step2"; update: Uint8Array }
  | { type: "sync-update"; update: Uint8Array }
  | { type: "awareness"; update: Uint8Array }
  | { type: "query-awareness" }
  | { type: "permission-denied"; reason: string }
  | { type: "unknown"; messageType: number };

/** Decodes one binary frame; throws on truncated or malformed input. */
export function decodeServerFrame(frame: Uint8Array): ServerFrame {
  const decoder = decoding.createDecoder(frame);
  const messageType = decoding.readVarUint(decoder);
  switch (messageType) {
    case MessageType.sync: {
      const syncType = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      switch (syncType) {
        case SyncMessageType.step1:
          return { type: "sync-step1", stateVector: payload };
        case SyncMessageType.step2:
          return { type: "sync-step2", update: payload };
        case SyncMessageType.update:
          return { type: "sync-update", update: payload };
        default:
          throw new Error(`unknown sync message type ${syncType}`);
      }
    }
    case MessageType.awareness:
      return { type: "awareness", update: decoding.readVarUint8Array(decoder) };
    case MessageType.queryAwareness:
      return { type: "query-awareness" };
    case MessageType.auth: {
      const authType = decoding.readVarUint(decoder);
      if (authType !== AuthMessageType.permissionDenied) throw new Error(`unknown auth message type ${authType}`);
      return { type: "permission-denied", reason: decoding.readVarString(decoder) };
    }
    default:
      return { type: "unknown", messageType };
  }
}
