// The live protocol: every constant that crosses a socket, in one module. Worker, Durable
// Objects, clients and tests import from here; nothing is defined twice. Spec:
// docs/PROTOCOL.md.

/**
 * Bumped whenever the wire changes in a way old clients cannot follow. Clients send it as
 * `?v=`; the server accepts versions from MIN_CLIENT_PROTOCOL_VERSION up to this one.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_CLIENT_PROTOCOL_VERSION = 1;

/** y-protocols framing: the first varUint of every binary frame. */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** y-protocols sync sub-messages (second varUint of a sync frame). */
export const SyncMessageType = {
  step1: 0,
  step2: 1,
  update: 2,
} as const;

/** y-protocols auth sub-messages. */
export const AuthMessageType = {
  permissionDenied: 0,
} as const;

/** Reasons sent inside an auth/permission-denied message. The socket stays open. */
export const PermissionDeniedReason = {
  readOnlyDocument: "read-only-document",
  foreignAwareness: "foreign-awareness",
} as const;

/**
 * Close codes, 4000–4999 being the range applications may use. The reason string is the
 * key, so a client can switch on it without a table of numbers.
 */
export const CloseReason = {
  BAD_MESSAGE: { code: 4400, reason: "BAD_MESSAGE" },
  UNAUTHORIZED: { code: 4401, reason: "UNAUTHORIZED" },
  FORBIDDEN: { code: 4403, reason: "FORBIDDEN" },
  NOT_FOUND: { code: 4404, reason: "NOT_FOUND" },
  CLIENT_TOO_OLD: { code: 4426, reason: "CLIENT_TOO_OLD" },
  SERVER_TOO_OLD: { code: 4427, reason: "SERVER_TOO_OLD" },
  MESSAGE_TOO_BIG: { code: 4413, reason: "MESSAGE_TOO_BIG" },
  INTERNAL_ERROR: { code: 4500, reason: "INTERNAL_ERROR" },
} as const;
export type CloseReasonName = keyof typeof CloseReason;

/** Closes after which a client must not reconnect by itself: the user has to act. */
export const TERMINAL_CLOSE_REASONS: readonly CloseReasonName[] = [
  "UNAUTHORIZED",
  "FORBIDDEN",
  "CLIENT_TOO_OLD",
  "SERVER_TOO_OLD",
];

export function closeReasonByCode(code: number): CloseReasonName | undefined {
  for (const [name, value] of Object.entries(CloseReason)) {
    if (value.code === code) return name as CloseReasonName;
  }
  return undefined;
}

/** Largest frame a client may send; anything bigger closes the socket. */
export const MAX_CLIENT_FRAME_BYTES = 256 * 1024;

/** Socket paths, each carrying `?v=<PROTOCOL_VERSION>&token=<token>`. */
export const LivePath = {
  inbox: "/live/inbox",
} as const;

export type VersionCheck = "ok" | "CLIENT_TOO_OLD" | "SERVER_TOO_OLD";

/** Compares a client's `?v=` with what this server speaks. Missing or garbage counts as too old. */
export function checkClientVersion(raw: string | null | undefined): VersionCheck {
  const version = raw !== null && raw !== undefined && /^\d{1,6}$/.test(raw) ? Number(raw) : 0;
  if (version < MIN_CLIENT_PROTOCOL_VERSION) return "CLIENT_TOO_OLD";
  if (version > PROTOCOL_VERSION) return "SERVER_TOO_OLD";
  return "ok";
}

/**
 * What an agent tab may publish in awareness. Only these fields are accepted by the hub;
 * `agentId` must be the socket's own agent.
 */
export interface AgentAwarenessState {
  agentId: string;
  name: string;
  /** Ticket the tab shows, if any. */
  viewing?: string | null;
  /** Ticket the tab types on, if any. */
  typing?: string | null;
}

export const AGENT_AWARENESS_FIELDS: readonly (keyof AgentAwarenessState)[] = ["agentId", "name", "viewing", "typing"];

/** Roots of the server-owned inbox document. */
export const InboxDoc = {
  /** Y.Map agentId → { name, role }: the account's agents who have connected. */
  agents: "agents",
} as const;
