// Display labels for the schema's value lists (schema/values.ts, shared with the server).
// Unknown values (a newer server) are shown as they come.
import {
  TICKET_PRIORITIES,
  TICKET_STATUSES,
  type OrderStatus,
  type TicketChannel,
  type TicketPriority,
  type TicketStatus,
} from "../../schema/values.ts";

export { TICKET_PRIORITIES, TICKET_STATUSES };
export type { TicketChannel, TicketPriority, TicketStatus };

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

const ORDER_STATUS_LABELS: Record<OrderStatus, string> = {
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
