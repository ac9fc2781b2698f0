import { describe, expect, it } from "vitest";
import { deliveryFor, deliveryProviderFor, DevMailboxProvider, replySubject } from "./delivery.ts";
import { decodeEntities, htmlToText, messageIdList, normalizeMessageId, parseAddress, splitAddressList } from "./email-text.ts";
import { threadCandidates } from "./email.ts";
import { REOPEN_WINDOW_DAYS, REOPEN_WINDOW_MS, shouldThread } from "./inbound.ts";
import { escapeHtml } from "./mailbox-page.ts";

const DAY = 24 * 60 * 60 * 1000;

describe("addresses and Message-IDs", () => {
  it("parses senders with and without display names", () => {
    expect(parseAddress("Rita Reader <Rita@Example.com>")).toEqual({ name: "Rita Reader", address: "rita@example.com" });
    expect(parseAddress('"Doe, Jane \\"JD\\"" <jane@example.com>')).toEqual({ name: 'Doe, Jane "JD"', address: "jane@example.com" });
    expect(parseAddress("<solo@example.com>")).toEqual({ name: null, address: "solo@example.com" });
    expect(parseAddress("  bare@example.com ")).toEqual({ name: null, address: "bare@example.com" });
    expect(parseAddress("Rita <rita@example.com")).toBeNull();
    expect(parseAddress("Rita")).toBeNull();
    expect(parseAddress("Rita <not-an-address>")).toBeNull();
    expect(parseAddress("")).toBeNull();
  });

  it("splits address lists outside quotes", () => {
    expect(splitAddressList('"Doe, Jane" <j@x.io>, b@y.io ,')).toEqual(['"Doe, Jane" <j@x.io>', "b@y.io"]);
  });

  it("normalises Message-IDs and reads References in order, without duplicates", () => {
    expect(normalizeMessageId(" abc@host ")).toBe("<abc@host>");
    expect(normalizeMessageId("<abc@host>")).toBe("<abc@host>");
    expect(normalizeMessageId("a b@host")).toBeNull();
    expect(normalizeMessageId("<>")).toBeNull();
    expect(messageIdList("<a@x> <b@x>\r\n <a@x>")).toEqual(["<a@x>", "<b@x>"]);
    expect(messageIdList(["<a@x>", "b@x"])).toEqual(["<a@x>", "<b@x>"]);
    expect(threadCandidates({ inReplyTo: "<c@x>", references: "<a@x> <b@x> <c@x>" })).toEqual(["<c@x>", "<b@x>", "<a@x>"]);
  });
});

describe("html to text", () => {
  it("drops tags, comments, scripts, styles and head; keeps paragraphs and list items", () => {
    const html = `<!DOCTYPE html><html><head><title>Secret title</title><style>.a{}</style></head>
      <body><div>Hello <b>Ana</b>,</div><!-- <p>hidden</p> --><SCRIPT type="x">document.write("<p>evil</p>")</SCRIPT>
      <ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table><p>x &lt; y &amp;&amp; 3 > 2</p></body></html>`;
    expect(htmlToText(html)).toBe("Hello Ana,\n\n- one\n- two\n\na b\n\nx < y && 3 > 2");
  });

  it("decodes entities once, and numeric ones safely", () => {
    expect(decodeEntities("&amp;lt; &#60; &#x3e; &eacute; &nbsp;&#0; &#xD800; &AMP;")).toBe("&lt; < > &eacute; \u00a0\uFFFD \uFFFD &");
  });

  it("survives unterminated and hostile markup in linear time", () => {
    expect(htmlToText("a <b")).toBe("a");
    expect(htmlToText("<script>never closed")).toBe("");
    expect(htmlToText("1 < 2 <3")).toBe("1 < 2 <3");
    const hostile = "<script>".repeat(50_000) + "<p>".repeat(50_000) + "&".repeat(100_000);
    const started = Date.now();
    htmlToText(hostile);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("the reopen window", () => {
  const now = Date.UTC(2026, 5, 1);
  it(`threads into open tickets and ones closed within ${REOPEN_WINDOW_DAYS} days, not older ones`, () => {
    expect(REOPEN_WINDOW_MS).toBe(REOPEN_WINDOW_DAYS * DAY);
    expect(shouldThread({ status: "open", closedAt: null }, now)).toBe(true);
    expect(shouldThread({ status: "pending", closedAt: null }, now)).toBe(true);
    expect(shouldThread({ status: "closed", closedAt: now - DAY }, now)).toBe(true);
    expect(shouldThread({ status: "closed", closedAt: now - REOPEN_WINDOW_MS }, now)).toBe(true);
    expect(shouldThread({ status: "closed", closedAt: now - REOPEN_WINDOW_MS - 1 }, now)).toBe(false);
    expect(shouldThread({ status: "closed", closedAt: now - 90 * DAY }, now)).toBe(false);
  });
});

describe("outbound deliveries", () => {
  const customer = { email: "pat@example.com", phone: "+15550100" };
  it("addresses email replies to the customer's email with a Re: subject, SMS to their phone", () => {
    expect(deliveryFor("email", customer, "Where is my parcel?", "On its way")).toMatchObject({
      channel: "email",
      toAddress: "pat@example.com",
      subject: "Re: Where is my parcel?",
      body: "On its way",
      provider: "dev-mailbox",
    });
    expect(deliveryFor("email", customer, "Re: Where is my parcel?", "x")?.subject).toBe("Re: Where is my parcel?");
    expect(deliveryFor("sms", customer, "Hi", "On its way")).toMatchObject({ channel: "sms", toAddress: "+15550100", subject: null });
    expect(deliveryFor("sms", customer, "Hi", "x")?.id).toMatch(/^dlv_/);
  });

  it("delivers nothing for chat and API tickets, or without an address", () => {
    expect(deliveryFor("chat", customer, "s", "b")).toBeNull();
    expect(deliveryFor("api", customer, "s", "b")).toBeNull();
    expect(deliveryFor("email", { email: null, phone: "+15550100" }, "s", "b")).toBeNull();
    expect(deliveryFor("sms", { email: "pat@example.com", phone: null }, "s", "b")).toBeNull();
    expect(deliveryFor("email", null, "s", "b")).toBeNull();
    expect(replySubject("  ")).toBe("Re: your message");
    expect(replySubject("Hi\r\nBcc: victim@example.com")).toBe("Re: Hi Bcc: victim@example.com");
  });

  it("chooses the dev mailbox by default and refuses unknown providers", async () => {
    expect(deliveryProviderFor({}).name).toBe("dev-mailbox");
    expect(deliveryProviderFor({ DELIVERY_PROVIDER: "dev-mailbox" })).toBeInstanceOf(DevMailboxProvider);
    expect(() => deliveryProviderFor({ DELIVERY_PROVIDER: "carrier-pigeon" })).toThrow(/carrier-pigeon/);
  });

  it("escapes everything HTML could interpret", () => {
    expect(escapeHtml(`<script>"a" & 'b'</script>`)).toBe("&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;");
  });
});
