import { describe, expect, it } from "vitest";
import { readJson } from "../test-support/live-client.ts";
import { shardOf } from "../test-support/shard.ts";
import { OTHER_WEBHOOK_SECRET, DEMO_WEBHOOK_SECRET, postEmail, postSms, unique } from "../test-support/channels-app.ts";

function email() {
  const id = unique("auth");
  return { from: `${id}@example.com`, to: "support@demo.shop", subject: "Auth check", text: "hi", messageId: `<${id}@example.com>` };
}

async function customersNamed(address: string): Promise<number> {
  const shard = await shardOf("acc_demo");
  const row = (await shard.client.execute({ sql: "SELECT count(*) AS n FROM customers WHERE email = ?", args: [address] })).rows[0];
  return Number(row?.n);
}

describe("webhook authentication", () => {
  it("accepts the account's secret as a Bearer token or in X-Webhook-Secret", async () => {
    expect((await postEmail(email())).status).toBe(201);
    const viaHeader = await postEmail(email(), { secret: null, headers: { "X-Webhook-Secret": DEMO_WEBHOOK_SECRET } });
    expect(viaHeader.status).toBe(201);
    // Basic auth with the secret as the password (Twilio: credentials in the webhook URL).
    const basic = await postSms(
      { From: "+15550100123", To: "+15550100999", Body: "via basic", MessageSid: unique("SM") },
      { secret: null, headers: { Authorization: `Basic ${btoa(`twilio:${DEMO_WEBHOOK_SECRET}`)}` } },
    );
    expect(basic.status).toBe(201);
    const wrongBasic = await postSms(
      { From: "+15550100123", To: "+15550100999", Body: "via basic", MessageSid: unique("SM") },
      { secret: null, headers: { Authorization: `Basic ${btoa(`${DEMO_WEBHOOK_SECRET}:nope`)}` } },
    );
    expect(wrongBasic.status).toBe(401);
    const other = await postEmail({ ...email(), to: "help@other.shop" }, { accountId: "acc_other", secret: OTHER_WEBHOOK_SECRET });
    expect(other.status).toBe(201);
  });

  it("answers a missing, wrong or other account's secret, and an unknown account, with the same 401, and writes nothing", async () => {
    const payload = email();
    const attempts = [
      await postEmail(payload, { secret: null }),
      await postEmail(payload, { secret: "" }),
      await postEmail(payload, { secret: `${DEMO_WEBHOOK_SECRET}x` }),
      await postEmail(payload, { secret: DEMO_WEBHOOK_SECRET.slice(0, -1) }),
      await postEmail(payload, { secret: OTHER_WEBHOOK_SECRET }),
      await postEmail(payload, { secret: null, headers: { "X-Webhook-Secret": OTHER_WEBHOOK_SECRET } }),
      await postEmail(payload, { secret: DEMO_WEBHOOK_SECRET, accountId: "acc_other" }),
      await postEmail(payload, { accountId: "acc_nobody" }),
      await postEmail(payload, { accountId: "acc_nobody", secret: null }),
      await postSms({ From: "+15550100", To: "+15550101", Body: "hi", MessageSid: "SM0123456789" }, { secret: OTHER_WEBHOOK_SECRET }),
      await postSms("From=%2B15550100", { secret: "wrong", contentType: "text/plain" }),
    ];
    const bodies = [];
    for (const response of attempts) {
      expect(response.status).toBe(401);
      bodies.push(await readJson(response));
    }
    for (const body of bodies) expect(body).toEqual({ error: { code: "UNAUTHORIZED", message: "a valid webhook secret is required" } });
    expect(await customersNamed(payload.from)).toBe(0);
  });

  it("checks the secret before the body: an unauthenticated 2 MB post is a 401, not a 413", async () => {
    const response = await postEmail({ ...email(), text: "x".repeat(2_000_000) }, { secret: "nope" });
    expect(response.status).toBe(401);
  });
});
