import type { InStatement } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReadFixture, type ReadFixture } from "../test-support/read-fixture.ts";
import { sealCursor } from "./cursor.ts";
import { queryTicketPage, searchTerms, SearchQueryError, type SearchWindow } from "./search.ts";

// queryTicketPage's search window (see search.ts, "Cost control"), with words no other
// test writes, so the shard-wide window holds only this file's rows.

let fx: ReadFixture;
const token = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => String.fromCharCode(97 + (byte % 26))).join("");
const A = `wa${token()}`;
const B = `wb${token()}`;
const SECRET = "search-test-secret-0123456789";
/** Ticket key → id, in insert order (so rowid order): K1 is the oldest. */
const ids: Record<string, string> = {};

beforeAll(async () => {
  fx = await createReadFixture("window");
  const plan: [key: string, subject: string, message: string][] = [
    ["K1", `${A} ${B} together`, "nothing to see"],
    ["K2", `about ${A}`, `and ${B} in the message`],
    ["K3", "plain", `mentions ${A}`],
    ["K4", "plain", `mentions ${A} again`],
    ["K5", "plain", `both ${A} and ${B} here`],
    ["K6", `${A} again`, "plain"],
  ];
  const statements: InStatement[] = [];
  plan.forEach(([key, subject, body], i) => {
    const id = `tkt_${fx.accountId}_${key}`;
    ids[key] = id;
    const at = fx.now - (10 - i) * 60_000;
    statements.push(
      {
        sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, created_at, updated_at)
              VALUES (?, ?, ?, 'email', ?, 'open', ?, ?)`,
        args: [id, fx.accountId, fx.customerIds[0], subject, at, at],
      },
      {
        sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
              VALUES (?, ?, ?, 'customer', ?, 'email', 1, ?)`,
        args: [`msg_${fx.accountId}_${key}`, fx.accountId, id, body, at],
      },
    );
  });
  await fx.shard.client.batch(statements, "write");
});

afterAll(async () => {
  await fx?.drop();
});

async function found(q: string, window?: SearchWindow): Promise<string[]> {
  const page = await queryTicketPage(fx.shard.db, { accountId: fx.accountId, q, limit: 100, window, cursorSecret: SECRET });
  return page.rows.map((row) => Object.entries(ids).find(([, id]) => id === row.id)?.[0] ?? row.id).sort();
}

describe("searchTerms", () => {
  it("quotes every word as a phrase and keeps trailing stars as prefixes", () => {
    expect(searchTerms(`refund "jacket" ana@example.com del* x* AND`)).toEqual([
      `"refund"`,
      `"jacket"`,
      `"ana@example.com"`,
      `"del"*`,
      `"x"`,
      `"AND"`,
    ]);
    expect(searchTerms("a a A")).toEqual([`"a"`, `"A"`]);
  });

  it("refuses searches with nothing to look for or too many words", () => {
    expect(() => searchTerms(`*** "" -`)).toThrow(SearchQueryError);
    expect(() => searchTerms("a b c d e f g h i")).toThrow(SearchQueryError);
  });
});

describe("the search window", () => {
  it("is exact when fewer rows match than the window holds", async () => {
    expect(await found(A)).toEqual(["K1", "K2", "K3", "K4", "K5", "K6"]);
    // Every word somewhere in the ticket: K2 has A in its subject and B in a message.
    expect(await found(`${A} ${B}`)).toEqual(["K1", "K2", "K5"]);
  });

  it("ranks only the newest matching message and ticket rows", async () => {
    // Newest message row with A: K5's; newest ticket row with A: K6's.
    expect(await found(A, { messages: 1, tickets: 1 })).toEqual(["K5", "K6"]);
    expect(await found(A, { messages: 2, tickets: 1 })).toEqual(["K4", "K5", "K6"]);
    expect(await found(A, { messages: 1, tickets: 3 })).toEqual(["K1", "K2", "K5", "K6"]);
  });

  it("adds older rows that hold every word of a multi-word search", async () => {
    // Window: K5's message and K6's ticket row (the newest rows with A or B). Within it
    // only K5 has both; older, K1's subject holds both words; K2 spreads them over two
    // rows outside the window, so it is left out.
    expect(await found(`${A} ${B}`, { messages: 1, tickets: 1 })).toEqual(["K1", "K5"]);
  });

  it("pages through a windowed search with the window kept in the cursor", async () => {
    const window = { messages: 2, tickets: 2 };
    const all = await queryTicketPage(fx.shard.db, { accountId: fx.accountId, q: A, limit: 100, window, cursorSecret: SECRET });
    expect(all.rows.length).toBe(4);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof queryTicketPage>> = await queryTicketPage(fx.shard.db, {
        accountId: fx.accountId,
        q: A,
        limit: 1,
        window,
        cursor,
        cursorSecret: SECRET,
      });
      seen.push(...page.rows.map((row) => row.id));
      cursor = page.nextCursor;
      pages += 1;
      // A newer match arriving mid-way is not ranked by this search (its window is frozen
      // in the cursor), and the scores it shifts do not make pages skip or repeat.
      if (pages === 2) {
        const late = `tkt_${fx.accountId}_K7`;
        ids["K7"] = late;
        await fx.shard.client.batch(
          [
            {
              sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, created_at, updated_at)
                    VALUES (?, ?, ?, 'email', ?, 'open', ?, ?)`,
              args: [late, fx.accountId, fx.customerIds[0], `late ${A}`, Date.now(), Date.now()],
            },
            {
              sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, body, channel, seq, created_at)
                    VALUES (?, ?, ?, 'customer', ?, 'email', 1, ?)`,
              args: [`msg_${fx.accountId}_late`, fx.accountId, late, `late ${A} ${A}`, Date.now()],
            },
          ],
          "write",
        );
      }
    } while (cursor && pages < 10);
    expect(seen, JSON.stringify(all.rows)).toEqual(all.rows.map((row) => row.id));
    // A new search sees it.
    expect(await found(A, window)).toContain("K7");
  });

  it("ranks no more rows than its window holds, whatever window a cursor carries", async () => {
    const window = { messages: 2, tickets: 2 };
    const expected = await found(A, window);
    expect(expected.length).toBeGreaterThan(1);
    const first = await queryTicketPage(fx.shard.db, { accountId: fx.accountId, q: A, limit: 1, window, cursorSecret: SECRET });
    expect(first.nextCursor).not.toBeNull();
    // The cursor's window widened to every row of the shard, and signed as if by the API
    // (a leaked secret, or a bug that lets a wide window through): the clamp still holds.
    const [payload = ""] = first.nextCursor!.split(".");
    const data = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    data["w"] = [1, 2 ** 50, -1, -(2 ** 50), 1, -1];
    const binding = { accountId: fx.accountId, sort: "relevance", order: "desc", terms: searchTerms(A).join(" ") };
    let cursor: string | null = await sealCursor(data, binding, SECRET);
    const seen = first.rows.map((row) => row.id);
    for (let pages = 0; cursor && pages < 10; pages++) {
      const page: Awaited<ReturnType<typeof queryTicketPage>> = await queryTicketPage(fx.shard.db, {
        accountId: fx.accountId,
        q: A,
        limit: 1,
        window,
        cursor,
        cursorSecret: SECRET,
      });
      seen.push(...page.rows.map((row) => row.id));
      cursor = page.nextCursor;
    }
    const keys = seen.map((id) => Object.entries(ids).find(([, known]) => known === id)?.[0] ?? id).sort();
    expect(keys).toEqual(expected);
  });

  it("scores a ticket by all its matching rows and breaks ties by id", async () => {
    const page = await queryTicketPage(fx.shard.db, { accountId: fx.accountId, q: A, limit: 100, cursorSecret: SECRET });
    const scores = page.rows.map((row) => row.score!);
    expect(scores.every((score) => Number.isSafeInteger(score) && score > 0)).toBe(true);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    // K1, K2 and K6 match in their subjects (weight 10), so they rank above K3/K4/K5.
    const rank = (key: string) => page.rows.findIndex((row) => row.id === ids[key]);
    for (const subject of ["K1", "K2", "K6"]) for (const body of ["K3", "K4", "K5"]) expect(rank(subject)).toBeLessThan(rank(body));
  });
});
