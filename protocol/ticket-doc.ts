// The live `ticket` document of a TicketRoom (`LivePath.ticket`), shared by the room, the
// agent app and tests. Spec: docs/PROTOCOL.md, "The ticket document".

/** Roots of the ticket document. Only the room writes `thread` and `meta`; agents co-edit `draft`. */
export const TicketDoc = {
  /** Y.Array<ThreadMessage>: messages and internal notes, in `seq` order (server-written). */
  thread: "thread",
  /** Y.Map of TicketMeta's fields (server-written). */
  meta: "meta",
  /** Y.Text: the reply the agents on the ticket co-edit. The only root a client may write. */
  draft: "draft",
} as const;

/** The one root a client update may touch (the draft guard admits nothing else). */
export const CLIENT_WRITABLE_ROOT = TicketDoc.draft;

export type ThreadAuthorKind = "customer" | "agent" | "system" | "ai";

/** An entry of the `thread` array: what the agent app draws as a bubble or a note. */
export interface ThreadMessage {
  id: string;
  seq: number;
  authorKind: ThreadAuthorKind;
  authorId: string | null;
  body: string;
  isInternalNote: boolean;
  channel: string;
  createdAt: number;
  /** Agents who wrote it together in the shared draft (sent from the draft only). */
  coAuthorIds?: string[];
}

/** The `meta` map's fields. */
export interface TicketMeta {
  id: string;
  subject: string;
  channel: string;
  customerId: string;
  status: string;
  priority: string;
  assigneeId: string | null;
  teamId: string | null;
  tagIds: string[];
  snoozedUntil: number | null;
  /** The ticket's version: +1 with every change the room commits. */
  version: number;
  updatedAt: number;
}

/** Fields of the meta map, in a fixed order (the room writes only those that changed). */
export const TICKET_META_FIELDS: readonly (keyof TicketMeta)[] = [
  "id",
  "subject",
  "channel",
  "customerId",
  "status",
  "priority",
  "assigneeId",
  "teamId",
  "tagIds",
  "snoozedUntil",
  "version",
  "updatedAt",
];

/**
 * What an agent tab publishes in awareness on a ticket socket: who they are, whether they
 * type, and their cursor in the draft as Yjs relative positions (JSON of
 * `Y.relativePositionToJSON`), so it stays put while others type.
 */
export interface TicketAwarenessState {
  agentId: string;
  name: string;
  /** The tab's colour for the cursor and selection, `#rrggbb`. */
  color?: string;
  typing?: boolean;
  /** Reply or internal note: per agent, not shared. */
  mode?: "reply" | "note";
  cursor?: { anchor: unknown; head: unknown } | null;
}

/**
 * Awareness updates a ticket socket may send: TICKET_AWARENESS_PER_SECOND on average, bursts
 * of TICKET_AWARENESS_BURST; the room refuses the excess (`rate-limited`). A tab publishes its
 * cursor at most every 200 ms, well inside it.
 */
export const TICKET_AWARENESS_PER_SECOND = 15;
export const TICKET_AWARENESS_BURST = 30;
/** Largest ticket awareness state, in characters of JSON (a cursor is two relative positions). */
export const MAX_TICKET_AWARENESS_CHARS = 2_000;

export const TICKET_AWARENESS_FIELDS: readonly (keyof TicketAwarenessState)[] = ["agentId", "name", "color", "typing", "mode", "cursor"];

/** Largest draft, in characters, that a room accepts (a message body's limit). */
export const MAX_DRAFT_CHARS = 100_000;
