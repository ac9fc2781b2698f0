import { CloseReason, type CloseReasonName } from "../../protocol/index.ts";

/**
 * Accepts an upgrade only to close it at once with a named reason. A plain HTTP error would
 * reach a browser's WebSocket as a bare 1006 with no reason, and the client could not tell
 * "log in again" from "the network blinked".
 */
export function refuseSocket(reason: CloseReasonName): Response {
  const pair = new WebSocketPair();
  const server = pair[1];
  server.accept();
  server.close(CloseReason[reason].code, CloseReason[reason].reason);
  return new Response(null, { status: 101, webSocket: pair[0] });
}
