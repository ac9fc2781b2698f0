import { describe, expect, it } from "vitest";
import { parseFailure } from "./http.ts";
import { parseMessage, parseTicketChanges, parseTicketSummary, parseTimeline } from "./inbox-api.ts";

describe("inbox API answers", () => {
  it("reads the customer timeline (mixed entries, newest first)", () => {
    const timeline = parseTimeline({
      customer: { id: "cus_1", name: "Jo", email: "jo@example.com", phone: null, createdAt: 1 },
      timeline: [
        {
          kind: "order",
          at: 30,
          order: {
            id: "ord_1",
            number: "#1001",
            status: "shipped",
            totalCents: 4_990,
            currency: "USD",
            items: [{ sku: "TS-1", name: "T-shirt", quantity: 2, unitPriceCents: 2_495 }],
            itemCount: 2,
            createdAt: 30,
            shippedAt: 31,
            trackingUrl: "https://track.example/1",
          },
        },
        {
          kind: "ticket",
          at: 20,
          ticket: { id: "tkt_1", subject: "Where is it?", status: "open", priority: "normal", channel: "email", createdAt: 20, updatedAt: 25, lastMessageAt: 25 },
        },
      ],
      hasMore: false,
    });
    expect(timeline?.customer).toEqual({ id: "cus_1", name: "Jo", email: "jo@example.com" });
    expect(timeline?.orders).toEqual([
      {
        id: "ord_1",
        number: "#1001",
        status: "shipped",
        totalCents: 4_990,
        currency: "USD",
        items: [{ sku: "TS-1", name: "T-shirt", quantity: 2, unitPriceCents: 2_495 }],
        createdAt: 30,
        shippedAt: 31,
        trackingUrl: "https://track.example/1",
      },
    ]);
    expect(timeline?.tickets).toEqual([
      { id: "tkt_1", subject: "Where is it?", status: "open", channel: "email", createdAt: 20, updatedAt: 25 },
    ]);
    expect(parseTimeline({ unrelated: true })).toBeNull();
  });

  it("normalises tickets and messages, keeping only what mutations really changed", () => {
    const summary = parseTicketSummary({ id: "tkt_1", subject: "Hi", status: "open", priority: "high", channel: "chat", customer: null });
    expect(summary).toMatchObject({ id: "tkt_1", tags: [], customer: null, lastMessageAt: null, assigneeId: null });
    expect(parseTicketSummary({ subject: "no id" })).toBeNull();

    expect(parseMessage({ id: "m", authorKind: "robot", body: "x", isInternalNote: 1 })).toMatchObject({
      authorKind: "system",
      isInternalNote: false,
    });

    // The room's record has customerId/tagIds, not customer/tags: those must not be touched.
    const changes = parseTicketChanges({ id: "tkt_1", customerId: "cus_1", tagIds: [], status: "pending", version: 4, assigneeId: null, closedAt: null });
    expect(changes).toEqual({ status: "pending", version: 4, assigneeId: null, closedAt: null });
  });

  it("turns error bodies into messages", () => {
    const failure = parseFailure(400, {
      error: { code: "VALIDATION_FAILED", message: "the request has invalid fields", fields: { body: ["Too big"] } },
    });
    expect(failure.code).toBe("VALIDATION_FAILED");
    expect(failure.message).toBe("The request has invalid fields (body: Too big)");
    expect(parseFailure(0, null).message).toMatch(/reach the server/);
    expect(parseFailure(502, "<html>").message).toMatch(/HTTP 502/);
  });
});
