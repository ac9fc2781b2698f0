// Public entry point of the schema package (Workers-safe). Explicit re-exports only.
// The Node-only migrator lives in ./migrate.ts and is deliberately not re-exported.

export {
  // tables
  accounts,
  accountEpochs,
  agentLogins,
  agents,
  teams,
  teamMembers,
  customers,
  tickets,
  messages,
  tags,
  ticketTags,
  views,
  macros,
  rules,
  helpArticles,
  guidance,
  aiSettings,
  orders,
  billableInteractions,
  // value lists
  AGENT_ROLES,
  AGENT_AVAILABILITIES,
  TICKET_CHANNELS,
  TICKET_STATUSES,
  TICKET_PRIORITIES,
  AI_STATES,
  MESSAGE_AUTHOR_KINDS,
  RULE_EVENTS,
  ORDER_STATUSES,
  TICKETS_FTS_TABLE,
  TICKETS_FTS_COLUMNS,
  // ids
  ID_PREFIXES,
  newId,
} from "./tables.ts";

export type {
  AgentRole,
  AgentAvailability,
  TicketChannel,
  TicketStatus,
  TicketPriority,
  AiState,
  MessageAuthorKind,
  RuleEvent,
  OrderStatus,
  ViewFilter,
  TicketAction,
  RuleCondition,
  OrderItem,
  Account,
  NewAccount,
  AgentLogin,
  Agent,
  NewAgent,
  Team,
  TeamMember,
  Customer,
  NewCustomer,
  Ticket,
  NewTicket,
  Message,
  NewMessage,
  Tag,
  TicketTag,
  View,
  NewView,
  Macro,
  Rule,
  HelpArticle,
  Guidance,
  AiSettings,
  Order,
  NewOrder,
  BillableInteraction,
} from "./tables.ts";

export { parseShardConfig, openShard, openShards, ShardConfigError, SHARD_URL_SCHEMES } from "./shards.ts";
export type { ShardConfig, ShardConnection, ShardDb, AnyShardDb, Shard, OpenShardOptions } from "./shards.ts";

export {
  fnv1a32,
  placeAccount,
  lookupAccountShard,
  registerAccount,
  moveAccount,
  normalizeEmail,
  findLogin,
  registerLogin,
  removeLogin,
  LoginTakenError,
} from "./directory.ts";
export type { Login, AccountPlacement } from "./directory.ts";
export { AccountPlacements, AccountMovingError, UnknownAccountError } from "./placements.ts";
export type { PlacementOptions, FencedWriteEvent } from "./placements.ts";
export { WRITE_FENCED, writeFenceStatement, isWriteFenced } from "./write-fence.ts";
