import { describe, expect, it } from "vitest";
import type { Message, TicketDetail } from "./inbox-api.ts";
import { mergeMessages, mergeMeta } from "./ticket-store.ts";

const ticket: TicketDetail = {
  id: "tkt_1",
  subject: "Parcel",
  status: "open",
  priority: "normal",
  channel: "email",
  assigneeId: null,
  teamId: null,
  customer: { id: "cus_1", name: "Rita", email: "rita@example.com" },
  tags: [{ id: "tag_vip", name: "VIP" }],
  createdAt: 1,
  updatedAt: 2,
  lastMessageAt: 2,
  version: 5,
  snoozedUntil: null,
  firstResponseAt: null,
  closedAt: null,
  aiState: null,
};

function message(id: string, seq: number, body = id): Message {
  return { id, seq, body, authorKind: "customer", authorId: null, isInternalNote: false, channel: "email", createdAt: seq };
}

describe("mergeMeta", () => {
  it("takes the document's fields when it is as new as the HTTP record or newer", () => {
    const merged = mergeMeta(ticket, { version: 6, status: "pending", priority: "urgent", assigneeId: "agt_ben", tagIds: ["tag_vip", "tag_new"] });
    expect(merged).toMatchObject({ version: 6, status: "pending", priority: "urgent", assigneeId: "agt_ben" });
    expect(merged.tags).toEqual([
      { id: "tag_vip", name: "VIP" },
      { id: "tag_new", name: "tag_new" },
    ]);
    // What the document does not carry stays.
    expect(merged.customer).toEqual(ticket.customer);
  });

  it("never takes the page back to an older version, and ignores a document without one", () => {
    expect(mergeMeta(ticket, { version: 4, status: "closed" })).toBe(ticket);
    expect(mergeMeta(ticket, { status: "closed" })).toBe(ticket);
    expect(mergeMeta(ticket, null)).toBe(ticket);
  });
});

describe("mergeMessages", () => {
  it("keeps each message once, the document's copy winning, in seq order", () => {
    const http = [message("m1", 1), message("m2", 2, "old copy")];
    const doc = [message("m2", 2, "from the room"), message("m3", 3)];
    expect(mergeMessages(http, doc).map((m) => [m.id, m.body])).toEqual([
      ["m1", "m1"],
      ["m2", "from the room"],
      ["m3", "m3"],
    ]);
  });

  it("keeps what only the HTTP side has (an answer that came before the socket's update)", () => {
    expect(mergeMessages([message("m4", 4)], [message("m1", 1)]).map((m) => m.id)).toEqual(["m1", "m4"]);
  });
});
