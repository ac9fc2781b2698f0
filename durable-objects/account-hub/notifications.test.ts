import { describe, expect, it } from "vitest";
import type { ReportedChange, TicketChangeReport } from "../ticket-room/room-api.ts";
import type { TicketRecord } from "../ticket-room/ticket-record.ts";
import { notificationsFor, withoutPrivateViews } from "./notifications.ts";
import type { CountedView } from "./view-counts.ts";

const NOW = 1_800_000_000_000;
const views: CountedView[] = [
  { id: "email", name: "Email", position: 0, filter: { channel: ["email"], status: ["open"] }, ownerAgentId: null },
  { id: "mine", name: "Mine", position: 1, filter: { assignee: "me" }, ownerAgentId: null },
];
const followedViews = new Map([
  ["agt_ana", ["email"]],
  ["agt_ben", ["mine"]],
]);

function record(patch: Partial<TicketRecord> = {}): TicketRecord {
  return {
    id: "tkt_1", accountId: "acc", customerId: "cus", channel: "email", subject: "Parcel", status: "open", priority: "normal",
    assigneeId: null, teamId: null, tagIds: [], version: 1, snoozedUntil: null, aiState: "none", createdAt: NOW, updatedAt: NOW,
    firstResponseAt: null, closedAt: null, lastMessageAt: null, messageCount: 0, ...patch,
  };
}

function change(version: number, patch: Partial<ReportedChange> = {}): ReportedChange {
  return { version, actor: { kind: "customer", id: "cus" }, message: null, assigneeId: null, ...patch };
}

function report(before: TicketRecord | null, after: TicketRecord, changes: ReportedChange[]): TicketChangeReport<TicketRecord> {
  return { ticketId: after.id, version: after.version, before, after, changes };
}

const customerMessage = { id: "msg", authorKind: "customer", isInternalNote: false };

describe("notificationsFor", () => {
  it("tells followers of a matching view about a new ticket, once per agent", () => {
    const created = report(null, record({ version: 2 }), [change(1), change(2, { message: customerMessage })]);
    expect(notificationsFor({ known: null, report: created, views, followedViews, now: NOW })).toEqual([
      { agentId: "agt_ana", kind: "new_ticket", ticketId: "tkt_1", subject: "Parcel", viewId: "email" },
    ]);
  });

  it("tells the assignee about an assignment made by someone else, and about customer replies", () => {
    const known = record({ version: 2 });
    const assigned = report(known, record({ version: 3, assigneeId: "agt_ben" }), [
      change(3, { actor: { kind: "agent", id: "agt_ana" }, assigneeId: "agt_ben" }),
    ]);
    expect(notificationsFor({ known, report: assigned, views, followedViews, now: NOW }).map((n) => [n.agentId, n.kind])).toEqual([["agt_ben", "assigned"]]);
    const selfAssigned = report(known, record({ version: 3, assigneeId: "agt_ben" }), [change(3, { actor: { kind: "agent", id: "agt_ben" }, assigneeId: "agt_ben" })]);
    expect(notificationsFor({ known, report: selfAssigned, views, followedViews, now: NOW })).toEqual([]);
    const mine = record({ version: 3, assigneeId: "agt_ben" });
    const replied = report(mine, record({ version: 4, assigneeId: "agt_ben" }), [change(4, { message: customerMessage, assigneeId: "agt_ben" })]);
    expect(notificationsFor({ known: mine, report: replied, views, followedViews, now: NOW }).map((n) => n.kind)).toEqual(["customer_reply"]);
    const note = report(mine, record({ version: 4, assigneeId: "agt_ben" }), [
      change(4, { message: { id: "n", authorKind: "customer", isInternalNote: true }, assigneeId: "agt_ben" }),
    ]);
    expect(notificationsFor({ known: mine, report: note, views, followedViews, now: NOW })).toEqual([]);
  });

  it("notifies nobody for versions it already applied (a duplicate or late report)", () => {
    const known = record({ version: 5, assigneeId: "agt_ben" });
    const late = report(record({ version: 3 }), record({ version: 5, assigneeId: "agt_ben" }), [
      change(4, { message: customerMessage }),
      change(5, { actor: { kind: "agent", id: "agt_ana" }, assigneeId: "agt_ben" }),
    ]);
    expect(notificationsFor({ known, report: late, views, followedViews, now: NOW })).toEqual([]);
    const created = report(null, record({ version: 2 }), [change(1), change(2, { message: customerMessage })]);
    expect(notificationsFor({ known: record({ version: 2 }), report: created, views, followedViews, now: NOW })).toEqual([]);
  });
});

describe("withoutPrivateViews", () => {
  it("drops a private view's id from notifications bound for the shared inbox document, keeps shared ones", () => {
    const all: CountedView[] = [...views, { id: "secret", name: "Secret", position: 2, filter: { status: ["open"] }, ownerAgentId: "agt_ana" }];
    const drafts = [
      { agentId: "agt_ana", kind: "new_ticket" as const, ticketId: "tkt_1", subject: "Parcel", viewId: "secret" },
      { agentId: "agt_ben", kind: "new_ticket" as const, ticketId: "tkt_1", subject: "Parcel", viewId: "email" },
    ];
    expect(withoutPrivateViews(drafts, all).map((draft) => draft.viewId)).toEqual([null, "email"]);
  });
});
