import type { InStatement } from "@libsql/client/web";
import { env } from "cloudflare:test";
import { registerAccount } from "../../schema/directory.ts";
import type { Shard } from "../../schema/shards.ts";
import type { AgentRole, TicketChannel, TicketPriority, TicketStatus } from "../../schema/tables.ts";
import type { AgentIdentity } from "../auth/identity.ts";
import { reindexAccountStatements } from "../search/search-index.ts";
import { directoryShard, shardsOf } from "../shards.ts";
import { readApp } from "./read-app.ts";
import { tokenFor } from "./live-client.ts";

// A throwaway account with known tickets for read-side tests: registered in the directory,
// written straight to its shard (as a room's flush would, including the search index), and
// removed again by `drop()`. Each test file gets its own account, so tests that page,
// count or rank are not disturbed by other files writing to the demo account meanwhile.

const HOUR = 3_600_000;

export const SEEDED = {
  ana: { agentId: "agt_demo_ana", accountId: "acc_demo", name: "Ana", role: "agent" },
  ben: { agentId: "agt_demo_ben", accountId: "acc_demo", name: "Ben", role: "agent" },
  ada: { agentId: "agt_demo_admin_ada", accountId: "acc_demo", name: "Admin Ada", role: "admin" },
  olive: { agentId: "agt_other_owner", accountId: "acc_other", name: "Olive Owner", role: "admin" },
} as const satisfies Record<string, AgentIdentity>;

export type FixtureTicket = {
  id: string;
  customerId: string;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  channel: TicketChannel;
  assigneeId: string | null;
  teamId: string | null;
  tagIds: string[];
  createdAt: number;
  updatedAt: number;
  lastMessageAt: number | null;
  messages: { id: string; body: string; isInternalNote: boolean }[];
};

export type ReadFixture = {
  accountId: string;
  shard: Shard;
  now: number;
  admin: AgentIdentity;
  agent: AgentIdentity;
  teamId: string;
  tagIds: [string, string, string];
  customerIds: [string, string];
  tickets: FixtureTicket[];
  /** A GET (or other request) through the read routes as `who`. */
  request(path: string, who?: AgentIdentity, init?: RequestInit): Promise<Response>;
  drop(): Promise<void>;
};

const STATUSES: TicketStatus[] = ["open", "pending", "snoozed", "closed"];
const PRIORITIES: TicketPriority[] = ["low", "normal", "high", "urgent", "normal"];
const CHANNELS: TicketChannel[] = ["email", "chat", "sms", "api"];
const TOPICS = ["delivery", "sizing", "invoice", "exchange", "warranty"];

export async function createReadFixture(label: string): Promise<ReadFixture> {
  const suffix = crypto.randomUUID().replace(/-/g, "").slice(0, 10);
  const accountId = `acc_t${label}_${suffix}`;
  const id = (kind: string, n: number | string) => `${kind}_${label}_${suffix}_${n}`;
  const shardIndex = await registerAccount(directoryShard(env).db, { id: accountId, name: `Read test ${label}` }, shardsOf(env).length);
  const shard = shardsOf(env)[shardIndex]!;
  const now = Date.now();

  const admin: AgentIdentity = { agentId: id("agt", "admin"), accountId, name: "Fixture Admin", role: "admin" };
  const agent: AgentIdentity = { agentId: id("agt", "agent"), accountId, name: "Fixture Agent", role: "agent" };
  const teamId = id("team", "support");
  const tagIds: [string, string, string] = [id("tag", "a"), id("tag", "b"), id("tag", "c")];
  const customerIds: [string, string] = [id("cus", "kim"), id("cus", "lou")];

  const tickets: FixtureTicket[] = [];
  for (let i = 0; i < 30; i++) {
    const createdAt = now - (i + 1) * HOUR - i * 1000;
    // Groups of three share updatedAt, so paging must break ties by id.
    const updatedAt = now - Math.floor(i / 3) * HOUR;
    const tags: string[] = [];
    if (i % 4 === 0) tags.push(tagIds[0]);
    if (i % 5 === 0) tags.push(tagIds[1]);
    tickets.push({
      id: id("tkt", String(i).padStart(2, "0")),
      customerId: customerIds[i % 2]!,
      subject: `Fixture question ${i} about ${TOPICS[i % TOPICS.length]}`,
      status: STATUSES[i % STATUSES.length]!,
      priority: PRIORITIES[i % PRIORITIES.length]!,
      channel: CHANNELS[i % CHANNELS.length]!,
      assigneeId: i % 3 === 0 ? agent.agentId : i % 3 === 1 ? admin.agentId : null,
      teamId: i % 2 === 0 ? teamId : null,
      tagIds: tags,
      createdAt,
      updatedAt,
      lastMessageAt: i % 7 === 0 ? null : createdAt + 10 * 60_000,
      messages:
        i % 7 === 0
          ? []
          : [
              { id: id("msg", `${i}_1`), body: `Hello, I have a question about ${TOPICS[i % TOPICS.length]} number ${i}.`, isInternalNote: false },
              { id: id("msg", `${i}_2`), body: `Internal: customer ${i} checked.`, isInternalNote: true },
            ],
    });
  }
  // Search ranking: a subject match versus a single mention in a message; words spread
  // over subject and message versus only one of them.
  const special = (key: string, subject: string, status: TicketStatus, bodies: string[], hoursAgo: number): FixtureTicket => ({
    id: id("tkt", key),
    customerId: customerIds[0],
    subject,
    status,
    priority: "normal",
    channel: "email",
    assigneeId: null,
    teamId: null,
    tagIds: [],
    createdAt: now - hoursAgo * HOUR,
    updatedAt: now - hoursAgo * HOUR,
    lastMessageAt: now - hoursAgo * HOUR,
    messages: bodies.map((body, k) => ({ id: id("msg", `${key}_${k + 1}`), body, isInternalNote: false })),
  });
  tickets.push(
    special("zsubject", "Zeppelin cufflinks went missing", "open", ["Hello, I have a question about my parcel."], 40),
    special("zbody", "A question about my parcel", "closed", [
      "Hello, my parcel is late. I once saw a zeppelin fly over the depot, which was nice, but I would like to know where my parcel is now and when it will arrive.",
      "Thanks for the update.",
    ], 41),
    special("zbody2", "Another parcel question", "open", [
      "My parcel is late again. Please tell me when it will arrive, the zeppelin sticker on the box was torn.",
    ], 42),
    special("qboth", "Quokka plush toy", "open", ["The plush came with marmalade stains on it."], 43),
    special("qone", "Quokka poster", "open", ["The poster is fine, thank you."], 44),
  );

  const statements: InStatement[] = [
    {
      sql: "INSERT INTO agents (id, account_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, 'x', ?), (?, ?, ?, ?, ?, 'x', ?)",
      args: [admin.agentId, accountId, `admin-${suffix}@fixture.test`, admin.name, "admin" satisfies AgentRole, now,
        agent.agentId, accountId, `agent-${suffix}@fixture.test`, agent.name, "agent" satisfies AgentRole, now],
    },
    { sql: "INSERT INTO teams (id, account_id, name, created_at) VALUES (?, ?, 'Support', ?)", args: [teamId, accountId, now] },
    {
      sql: "INSERT INTO tags (id, account_id, name, color, created_at) VALUES (?, ?, 'alpha', NULL, ?), (?, ?, 'beta', NULL, ?), (?, ?, 'gamma', NULL, ?)",
      args: [tagIds[0], accountId, now, tagIds[1], accountId, now, tagIds[2], accountId, now],
    },
    {
      sql: "INSERT INTO customers (id, account_id, email, name, created_at) VALUES (?, ?, ?, 'Kim Fixture', ?), (?, ?, ?, 'Lou Fixture', ?)",
      args: [customerIds[0], accountId, `kim.${suffix}@example.com`, now, customerIds[1], accountId, `lou.${suffix}@example.com`, now],
    },
  ];
  for (const t of tickets) {
    statements.push({
      sql: `INSERT INTO tickets (id, account_id, customer_id, channel, subject, status, priority, assignee_id, team_id, version,
              snoozed_until, ai_state, created_at, updated_at, first_response_at, closed_at, last_message_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'none', ?, ?, NULL, ?, ?)`,
      args: [t.id, accountId, t.customerId, t.channel, t.subject, t.status, t.priority, t.assigneeId, t.teamId,
        t.status === "snoozed" ? now + 24 * HOUR : null, t.createdAt, t.updatedAt, t.status === "closed" ? t.updatedAt : null, t.lastMessageAt],
    });
    for (const tagId of t.tagIds) {
      statements.push({ sql: "INSERT INTO ticket_tags (account_id, ticket_id, tag_id) VALUES (?, ?, ?)", args: [accountId, t.id, tagId] });
    }
    t.messages.forEach((m, k) => {
      statements.push({
        sql: `INSERT INTO messages (id, account_id, ticket_id, author_kind, author_id, body, is_internal_note, channel, seq, created_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [m.id, accountId, t.id, m.isInternalNote ? "agent" : "customer", m.isInternalNote ? agent.agentId : t.customerId, m.body,
          m.isInternalNote ? 1 : 0, t.channel, k + 1, t.createdAt + k * 60_000],
      });
    });
  }
  await shard.client.batch(statements, "write");

  const request = async (path: string, who: AgentIdentity = agent, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await tokenFor(who)}`);
    return readApp.request(path, { ...init, headers }, env);
  };

  const drop = async () => {
    await shard.client.batch(
      [
        reindexAccountStatements(accountId)[0]!,
        { sql: "DELETE FROM views WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM ticket_tags WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM messages WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM tickets WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM orders WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM tags WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM team_members WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM teams WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM customers WHERE account_id = ?", args: [accountId] },
        { sql: "DELETE FROM agents WHERE account_id = ?", args: [accountId] },
      ],
      "write",
    );
    await directoryShard(env).client.execute({ sql: "DELETE FROM accounts WHERE id = ?", args: [accountId] });
  };

  return { accountId, shard, now, admin, agent, teamId, tagIds, customerIds, tickets, request, drop };
}

/** A request through the read routes as one of the seeded demo agents. */
export async function requestAs(who: AgentIdentity, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${await tokenFor(who)}`);
  return readApp.request(path, { ...init, headers }, env);
}

/** JSON request init for POST/PATCH. */
export function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) };
}
