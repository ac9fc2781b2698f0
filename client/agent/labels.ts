// Display labels for the ticket value lists. The canonical lists live in schema/tables.ts,
// but that module pulls drizzle-orm into a browser bundle, so the client keeps its own copy
// of the few values it shows. Unknown values (a newer server) are shown as they come.

export const TICKET_STATUSES = ["open", "pending", "snoozed", "closed"] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export const TICKET_CHANNELS = ["chat", "email", "sms", "api"] as const;
export type TicketChannel = (typeof TICKET_CHANNELS)[number];

const STATUS_LABELS: Record<TicketStatus, string> = {
  open: "Open",
  pending: "Pending",
  snoozed: "Snoozed",
  closed: "Closed",
};

const PRIORITY_LABELS: Record<TicketPriority, string> = {
  low: "Low",
  normal: "Normal",
  high: "High",
  urgent: "Urgent",
};

const CHANNEL_LABELS: Record<TicketChannel, string> = {
  chat: "Chat",
  email: "Email",
  sms: "SMS",
  api: "API",
};

const ORDER_STATUS_LABELS: Record<string, string> = {
  pending: "Pending",
  paid: "Paid",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
  refunded: "Refunded",
};

function lookup(labels: Record<string, string>, value: string): string {
  return Object.hasOwn(labels, value) ? (labels[value] ?? value) : value;
}

export const statusLabel = (status: string): string => lookup(STATUS_LABELS, status);
export const priorityLabel = (priority: string): string => lookup(PRIORITY_LABELS, priority);
export const channelLabel = (channel: string): string => lookup(CHANNEL_LABELS, channel);
export const orderStatusLabel = (status: string): string => lookup(ORDER_STATUS_LABELS, status);

export function isTicketStatus(value: string): value is TicketStatus {
  return (TICKET_STATUSES as readonly string[]).includes(value);
}

export function isTicketPriority(value: string): value is TicketPriority {
  return (TICKET_PRIORITIES as readonly string[]).includes(value);
}
