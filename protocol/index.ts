// The live protocol: every constant that crosses a socket, in one module. Worker, Durable
// Objects, clients and tests import from here; nothing is defined twice. Spec:
// docs/PROTOCOL.md.

import type { AgentAvailability, AgentRole } from "../schema/values.ts";

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
  rateLimited: "rate-limited",
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
  /** The client announced keepalives (`ka=1`) and then fell silent for SOCKET_SILENCE_LIMIT_MS. */
  KEEPALIVE_TIMEOUT: { code: 4408, reason: "KEEPALIVE_TIMEOUT" },
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

/**
 * Keepalive: the client sends the text frame `request` every KEEPALIVE_INTERVAL_MS; the
 * server's runtime answers `response` without waking the Durable Object (WebSocket
 * auto-response). No answer within KEEPALIVE_TIMEOUT_MS means the socket is dead. These
 * are the only text frames on a socket; any other text frame is a BAD_MESSAGE.
 */
export const Keepalive = { request: "ping", response: "pong" } as const;
export const KEEPALIVE_INTERVAL_MS = 25_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/**
 * A socket whose last keepalive is older than this is considered gone by the server (a
 * laptop that slept without closing it); the hub closes it on its next sweep.
 */
export const SOCKET_SILENCE_LIMIT_MS = 3 * KEEPALIVE_INTERVAL_MS;

/**
 * Query parameter a client adds (`ka=1`) to say it sends keepalives: only such sockets are
 * closed for silence (a stock y-websocket client sends none and is left alone).
 */
export const KEEPALIVE_QUERY_PARAM = "ka";

/** Socket paths, each carrying `?v=<PROTOCOL_VERSION>&token=<token>`. */
export const LivePath = {
  inbox: "/live/inbox",
  /** The caller's own `agent` document (AgentDoc): what no other agent may read. */
  agent: "/live/agent",
  /** A ticket's live document (protocol/ticket-doc.ts): `${LivePath.tickets}/<ticketId>`. */
  tickets: "/live/tickets",
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
  /** Ticket the tab types on, if any (set on the first keystroke, cleared after TYPING_IDLE_MS). */
  typing?: string | null;
  /**
   * No keyboard, pointer or focus activity in this browser for the agent's idle time. An agent
   * whose every tab says idle is shown (and routed) as away until activity resumes.
   */
  idle?: boolean;
}

export const AGENT_AWARENESS_FIELDS: readonly (keyof AgentAwarenessState)[] = ["agentId", "name", "viewing", "typing", "idle"];

/** A tab clears `typing` after this long without a keystroke. */
export const TYPING_IDLE_MS = 4_000;
/**
 * A socket may publish at most AWARENESS_BURST awareness updates at once and AWARENESS_PER_SECOND
 * on average; the hub refuses the excess (permission denied, `rate-limited`) without relaying it.
 */
export const AWARENESS_PER_SECOND = 10;
export const AWARENESS_BURST = 30;

/** What an agent chooses (schema/values.ts); `offline` is never chosen, it is having no socket open. */
export type Availability = AgentAvailability;
/** How an agent is shown to teammates and treated by routing. */
export type EffectiveAvailability = Availability | "offline";

/** `presence` entry of an agent in the inbox document (written by the hub). */
export interface AgentPresence {
  /** At least one socket of the agent is open. */
  online: boolean;
  /** What the agent chose (persisted across sessions). */
  status: Availability;
  /** Every open tab of the agent reports idle. */
  idle: boolean;
  /** Epoch ms of the last change of the effective availability. */
  since: number;
}

/** The one rule for how an agent shows: offline without a socket, away when idle. */
export function effectiveAvailability(presence: Pick<AgentPresence, "online" | "status" | "idle">): EffectiveAvailability {
  if (!presence.online) return "offline";
  if (presence.idle) return "away";
  return presence.status;
}

/** `views` entry in the inbox document: enough for a sidebar, and how to find its count. */
export interface InboxView {
  name: string;
  position: number;
  /** null for a shared view; the owner's agent id for a private one. */
  ownerAgentId: string | null;
  /** Counted per agent (its filter says "assigned to me"): look up `viewCountKey(id, me)`. */
  perAgent: boolean;
}

/** The key of a view's count in the `counts` map. */
export function viewCountKey(viewId: string, perAgent: boolean, agentId: string): string {
  return perAgent ? `${viewId}@${agentId}` : viewId;
}

export const NOTIFICATION_KINDS = ["new_ticket", "customer_reply", "assigned"] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** An entry of an agent's `notifications` array in the inbox document. */
export interface InboxNotification {
  /** Increases by one per notification of this agent: "read up to" is a number. */
  seq: number;
  kind: NotificationKind;
  ticketId: string;
  subject: string;
  /** The followed view a new ticket arrived in (new_ticket only). */
  viewId: string | null;
  at: number;
}

/** Newest notifications kept per agent in the document; older ones are dropped. */
export const MAX_NOTIFICATIONS_PER_AGENT = 50;

/** `agents` entry in the inbox document: an agent of the account and their routing settings. */
export interface InboxAgent {
  name: string;
  role: AgentRole;
  /** Minutes without activity in any tab before the agent's tabs report idle. */
  idleAwayMinutes: number;
  /** Shared views whose new tickets notify this agent (private ones: AgentDoc.followedViews). */
  followedViewIds: string[];
  /** Open tickets auto-assignment may give this agent at once. */
  capacity: { chat: number; other: number };
}

/** Roots of the server-owned inbox document. */
export const InboxDoc = {
  /** Y.Map agentId → InboxAgent: the account's agents. */
  agents: "agents",
  /** Y.Map agentId → AgentPresence. */
  presence: "presence",
  /** Y.Map viewId → InboxView: shared views only (private ones: AgentDoc). */
  views: "views",
  /** Y.Map viewCountKey → number of matching tickets, for shared views. */
  counts: "counts",
  /** Y.Map agentId → Y.Array<InboxNotification>, oldest first. */
  notifications: "notifications",
  /** Y.Map agentId → seq of the newest notification the agent has read. */
  notificationsRead: "notificationsRead",
} as const;

/**
 * Roots of an agent's own server-owned `agent` document (`LivePath.agent`): their private
 * views. Yjs sync cannot filter one document per socket, so what only one agent may read
 * lives in a document only that agent's sockets sync. `views` and `counts` have the shapes
 * of the inbox document's roots of the same names.
 */
export const AgentDoc = {
  /** Y.Map viewId → InboxView: this agent's private views. */
  views: "views",
  /** Y.Map viewCountKey → number of matching tickets, for those views. */
  counts: "counts",
  /** Y.Map viewId → true: the private views this agent follows. */
  followedViews: "followedViews",
} as const;
