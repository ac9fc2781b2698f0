// Demo data for local development and tests: the "Demo Shop" account (apparel store with
// agents, customers, orders, tickets, knowledge) and a small "Other Store" account used
// to prove cross-account isolation.
//
// `seedDemoStore(shards)` expects migrated shards (see schema/migrate.ts) and is
// idempotent: each account is registered in the directory on shard 0 (where
// `registerAccount` places it), and its data is written (in one atomic batch) only if
// the account has no agents yet on its shard, so a second run adds nothing.
// Content is generated from a seeded PRNG, so runs are reproducible; timestamps are
// relative to `options.now` (default: the current time), spread over the last 30 days.
import { createClient } from "@libsql/client";
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/libsql";
import { hashPassword } from "../worker/auth/password.ts";
import { registerAccount, registerLogin } from "../schema/directory.ts";
import type { AnyShardDb, ShardConnection } from "../schema/shards.ts";
import {
  agents,
  accountSettings,
  aiSettings,
  billableInteractions,
  customers,
  guidance,
  helpArticles,
  ID_PREFIXES,
  macros,
  messages,
  orders,
  rules,
  tags,
  teamMembers,
  teams,
  ticketTags,
  tickets,
  viewFollows,
  views,
} from "../schema/tables.ts";
import type {
  AgentRole,
  AiState,
  MessageAuthorKind,
  NewCustomer,
  NewMessage,
  NewOrder,
  NewTicket,
  OrderItem,
  OrderStatus,
  TicketChannel,
  TicketPriority,
  TicketStatus,
} from "../schema/tables.ts";
import { prng } from "./prng.ts";

export const DEMO_ACCOUNT_ID = "acc_demo";
export const OTHER_ACCOUNT_ID = "acc_other";
/** The password of every seeded agent (local development only). */
export const DEMO_PASSWORD = "demo-password";

/** Every seeded login, for the README and the start script to print. */
/** Local-only webhook secrets for the seeded accounts' inbound email/SMS webhooks. */
export const DEMO_WEBHOOK_SECRET = "demo-webhook-secret-local-only";
export const OTHER_WEBHOOK_SECRET = "other-webhook-secret-local-only";

export const DEMO_LOGINS = [
  { email: "admin@demo.shop", password: DEMO_PASSWORD, name: "Admin Ada", role: "admin", accountId: DEMO_ACCOUNT_ID, accountName: "Demo Shop" },
  { email: "ana@demo.shop", password: DEMO_PASSWORD, name: "Ana", role: "agent", accountId: DEMO_ACCOUNT_ID, accountName: "Demo Shop" },
  { email: "ben@demo.shop", password: DEMO_PASSWORD, name: "Ben", role: "agent", accountId: DEMO_ACCOUNT_ID, accountName: "Demo Shop" },
  { email: "owner@other.shop", password: DEMO_PASSWORD, name: "Olive Owner", role: "admin", accountId: OTHER_ACCOUNT_ID, accountName: "Other Store" },
] as const satisfies readonly {
  email: string;
  password: string;
  name: string;
  role: AgentRole;
  accountId: string;
  accountName: string;
}[];

export type SeedOptions = {
  /** Epoch ms the demo timeline ends at (default `Date.now()`). */
  now?: number;
};

export type SeededAccount = {
  id: string;
  name: string;
  shardIndex: number;
  /** false when the account's data was already there (nothing was written). */
  created: boolean;
};

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------
// Deterministic randomness

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
  /** A prefixed id like the ones `newId` makes, but reproducible. */
  id(kind: keyof typeof ID_PREFIXES): string {
    let out = `${ID_PREFIXES[kind]}_`;
    for (let i = 0; i < 16; i++) out += "0123456789abcdefghijklmnopqrstuvwxyz"[Math.floor(this.next() * 36)];
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// Demo Shop content

const FIRST_NAMES = [
  "Olivia", "Liam", "Emma", "Noah", "Sofia", "Mateo", "Chloe", "Lucas", "Amara", "Ethan",
  "Yuki", "Priya", "Jonas", "Fatima", "Diego", "Hannah", "Kwame", "Ingrid", "Omar", "Mei",
  "Gabriel", "Leila", "Tomás", "Freya", "Ravi", "Elena", "Samuel", "Zoe", "Marco", "Aisha",
] as const;
const LAST_NAMES = [
  "Bennett", "Okafor", "Lindqvist", "García", "Nakamura", "Patel", "Schmidt", "Haddad", "Rossi", "Nguyen",
  "Murphy", "Kowalski", "Dubois", "Mensah", "Larsen", "Cohen", "Silva", "Fischer", "Ali", "Chen",
  "Moreau", "Andersson", "Costa", "O'Brien", "Kumar", "Novak", "Wright", "Hughes", "Romano", "Yilmaz",
] as const;
const EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"] as const;

const PRODUCTS = [
  { sku: "SWT-MER-01", name: "Merino Crew Sweater", unitPriceCents: 8900 },
  { sku: "BAG-CNV-02", name: "Canvas Weekender Bag", unitPriceCents: 12500 },
  { sku: "SHT-OXF-03", name: "Classic Oxford Shirt", unitPriceCents: 5900 },
  { sku: "SHO-TRL-04", name: "Trail Running Shoes", unitPriceCents: 13900 },
  { sku: "TEE-ORG-05", name: "Organic Cotton Tee", unitPriceCents: 2900 },
  { sku: "JKT-RAIN-06", name: "Rain Shell Jacket", unitPriceCents: 16900 },
  { sku: "HAT-WOL-07", name: "Wool Beanie", unitPriceCents: 2500 },
  { sku: "PNT-LIN-08", name: "Linen Trousers", unitPriceCents: 7900 },
  { sku: "BLT-LTH-09", name: "Leather Belt", unitPriceCents: 4500 },
  { sku: "SCK-EVD-10", name: "Everyday Socks (3-pack)", unitPriceCents: 1800 },
  { sku: "DRS-WRP-11", name: "Wrap Dress", unitPriceCents: 9800 },
  { sku: "SCF-CSH-12", name: "Cashmere Scarf", unitPriceCents: 11000 },
] as const;

const TAGS = [
  { name: "shipping", color: "#2563eb" },
  { name: "order-status", color: "#0891b2" },
  { name: "returns", color: "#7c3aed" },
  { name: "refund", color: "#db2777" },
  { name: "payment", color: "#dc2626" },
  { name: "sizing", color: "#16a34a" },
  { name: "damaged", color: "#ea580c" },
  { name: "pre-sales", color: "#ca8a04" },
  { name: "address-change", color: "#0d9488" },
  { name: "vip", color: "#9333ea" },
  { name: "bug", color: "#475569" },
] as const;
type TagName = (typeof TAGS)[number]["name"];

type Step = { kind: "customer" | "agent" | "ai" | "note" | "system"; body: string };
type Scenario = {
  subject: string;
  channels: readonly TicketChannel[];
  tags: readonly TagName[];
  priority: TicketPriority;
  team: "Support" | "Sales";
  /** Needs an order of the customer; these statuses fit the story best. */
  order?: readonly OrderStatus[];
  /** The full conversation; a ticket shows a prefix of it (1..6 messages). */
  script: readonly Step[];
};

const c = (body: string): Step => ({ kind: "customer", body });
const a = (body: string): Step => ({ kind: "agent", body });
const ai = (body: string): Step => ({ kind: "ai", body });
const note = (body: string): Step => ({ kind: "note", body });
const sys = (body: string): Step => ({ kind: "system", body });

// Placeholders: {first} customer first name, {order} order number, {item} first item,
// {tracking} tracking URL, {agent} replying agent's name.
const SCENARIOS: readonly Scenario[] = [
  {
    subject: "Where is my order {order}?",
    channels: ["email", "chat", "sms"],
    tags: ["order-status", "shipping"],
    priority: "normal",
    team: "Support",
    order: ["shipped", "paid"],
    script: [
      c("Hi, I ordered {order} last week and haven't received anything yet. Can you tell me where it is?"),
      a("Hi {first}, thanks for reaching out! Your order {order} has left our warehouse and is with the carrier. You can follow it here: {tracking}"),
      c("Thanks. The tracking page hasn't updated in three days though."),
      note("Carrier shows a scan gap at the regional hub. Opened a trace with the carrier."),
      a("I've asked the carrier to investigate. If the parcel doesn't move within 48 hours we'll send a replacement at no cost."),
      c("Great, thank you for the quick help!"),
    ],
  },
  {
    subject: "Tracking for {order}",
    channels: ["chat", "email"],
    tags: ["order-status"],
    priority: "low",
    team: "Support",
    order: ["shipped"],
    script: [
      c("Hello! Could you send me the tracking link for {order}?"),
      ai("Hi {first}! Order {order} shipped and is on its way. Here is your tracking link: {tracking}. Deliveries usually take 3-5 business days."),
      c("Perfect, that's all I needed. Thanks!"),
    ],
  },
  {
    subject: "Return {item} from {order}",
    channels: ["email", "chat"],
    tags: ["returns"],
    priority: "normal",
    team: "Support",
    order: ["delivered"],
    script: [
      c("Hi, the {item} from order {order} doesn't suit me. How do I return it?"),
      ai("You can return unworn items within 30 days of delivery. Start the return from the link in your shipping confirmation email and print the prepaid label. Your refund is issued within 5 business days after we receive the parcel."),
      c("The link in the email says my order isn't eligible. Can a person look at this?"),
      sys("The AI agent handed this conversation over to the team."),
      a("Hi {first}, {agent} here. The link failed because the order was placed with a gift card. I've created the return manually and emailed you the prepaid label."),
      c("Got the label, thank you!"),
    ],
  },
  {
    subject: "Exchange for a different size ({order})",
    channels: ["email", "chat", "sms"],
    tags: ["returns", "sizing"],
    priority: "normal",
    team: "Support",
    order: ["delivered"],
    script: [
      c("The {item} I received is too small. Can I exchange it for one size up?"),
      a("Of course, {first}! I've reserved one size up for you. Send the original back with the prepaid label I just emailed and we'll ship the new one as soon as it's scanned by the carrier."),
      c("Do I need to include anything in the parcel?"),
      a("Just the item in its original packaging; the label links the parcel to your exchange."),
      note("Reserved replacement in stock, exchange created."),
    ],
  },
  {
    subject: "Charged twice for {order}",
    channels: ["email", "chat", "api"],
    tags: ["payment", "refund"],
    priority: "urgent",
    team: "Support",
    order: ["paid", "shipped", "delivered"],
    script: [
      c("I was charged twice for order {order}! Please fix this, my card statement shows two identical payments."),
      note("Payment provider shows one capture and one authorisation hold. The hold should drop within 3 days."),
      a("Hi {first}, I'm sorry for the worry. I checked with our payment provider: one of the two entries is a temporary authorisation that your bank will release within 3 business days. Only one payment was captured."),
      c("It's still there after 4 days."),
      a("Thanks for letting me know. I've asked the provider to void the hold immediately and I'll follow up as soon as they confirm."),
    ],
  },
  {
    subject: "Parcel arrived damaged",
    channels: ["email", "sms", "chat"],
    tags: ["damaged", "shipping"],
    priority: "high",
    team: "Support",
    order: ["delivered"],
    script: [
      c("My parcel for {order} arrived with a torn box and the {item} is stained. Very disappointed."),
      a("I'm really sorry, {first}. Could you send a photo of the item and the box? We'll sort this out right away."),
      c("Photos attached. The stain is on the left sleeve."),
      note("Photos confirm damage in transit. Approved a free replacement; filing a carrier claim."),
      a("Thank you. A replacement is on its way at no cost and you don't need to send the damaged one back."),
      c("That's very kind, thank you."),
    ],
  },
  {
    subject: "Change shipping address for {order}",
    channels: ["chat", "sms", "email"],
    tags: ["address-change", "shipping"],
    priority: "high",
    team: "Support",
    order: ["paid", "pending"],
    script: [
      c("I just noticed I used my old address for {order}. Can you change it before it ships?"),
      a("Hi {first}, your order hasn't shipped yet, so we can still update it. What is the new address?"),
      c("It's 42 Harbour Street, Apt 5, Portland, OR 97201."),
      a("Done! Order {order} will ship to 42 Harbour Street, Apt 5, Portland, OR 97201."),
    ],
  },
  {
    subject: "Which size should I order?",
    channels: ["chat", "email"],
    tags: ["sizing", "pre-sales"],
    priority: "low",
    team: "Sales",
    script: [
      c("Hi! I'm usually a medium but between sizes in the shoulders. Which size of the Merino Crew Sweater would you recommend?"),
      ai("The Merino Crew Sweater has a relaxed fit, so most customers between sizes pick their usual size. If you prefer a closer fit, size down. Our size guide has chest and shoulder measurements for each size."),
      c("Thanks, I'll go with a medium then."),
    ],
  },
  {
    subject: "Discount for a bulk order",
    channels: ["email", "api"],
    tags: ["pre-sales", "vip"],
    priority: "normal",
    team: "Sales",
    script: [
      c("Hello, we're a small design studio looking to order 25 Organic Cotton Tees with our logo. Do you offer volume pricing?"),
      note("Potential B2B customer, looping in Sales."),
      a("Hi {first}, thanks for thinking of us! For 25+ units we offer 15% off. Custom printing is done by a partner; I'll send you a quote within a day."),
      c("Sounds good. We'd need them by the end of the month."),
      a("That works. The quote is attached; reply to confirm and we'll reserve the stock."),
    ],
  },
  {
    subject: "Payment failed at checkout",
    channels: ["chat", "api", "email"],
    tags: ["payment", "bug"],
    priority: "high",
    team: "Support",
    script: [
      c("My card keeps getting declined at checkout but it works everywhere else. Error code P-402."),
      ai("Sorry about that! Error P-402 usually means the bank asked for extra verification. Please try again and approve the payment in your banking app, or use PayPal or Apple Pay."),
      c("Tried that, still failing. I want to talk to a person."),
      sys("The AI agent handed this conversation over to the team."),
      note("Checkout logs show 3-D Secure timeouts for this card issuer since yesterday. Reported to engineering."),
      a("Hi {first}, thanks for your patience. We found an issue with one card issuer's verification step and our engineers are on it. In the meantime PayPal works reliably."),
    ],
  },
  {
    subject: "Cancel my order {order}",
    channels: ["email", "sms", "chat"],
    tags: ["refund"],
    priority: "normal",
    team: "Support",
    order: ["pending", "paid"],
    script: [
      c("Please cancel order {order}, I ordered the wrong color."),
      a("Hi {first}, I've cancelled order {order}. The refund will appear on your statement within 3-5 business days."),
      c("Thank you!"),
    ],
  },
  {
    subject: "When will the Rain Shell Jacket be back in stock?",
    channels: ["chat", "email", "api"],
    tags: ["pre-sales"],
    priority: "low",
    team: "Sales",
    script: [
      c("Hi, the Rain Shell Jacket in navy, size L has been sold out for weeks. Any restock planned?"),
      a("Hi {first}! The navy jacket is expected back in about two weeks. Would you like me to notify you when it's available?"),
      c("Yes please!"),
      a("You're on the list; we'll email you as soon as it's back."),
    ],
  },
  {
    subject: "Refund not received for {order}",
    channels: ["email", "chat"],
    tags: ["refund", "returns"],
    priority: "high",
    team: "Support",
    order: ["refunded", "delivered"],
    script: [
      c("I returned {item} from {order} two weeks ago and still have no refund."),
      note("Warehouse received the return on the 12th; refund was stuck in the approval queue."),
      a("Hi {first}, you're right and I'm sorry for the delay. Your return arrived and I've just released the refund; it should reach your account within 3-5 business days."),
      c("Okay, I'll keep an eye on it."),
    ],
  },
  {
    subject: "Do you ship to Canada?",
    channels: ["chat", "sms", "email"],
    tags: ["shipping", "pre-sales"],
    priority: "low",
    team: "Sales",
    script: [
      c("Do you ship to Canada, and how much does it cost?"),
      ai("Yes, we ship to Canada! Standard international shipping is $15 and takes 6-10 business days. Duties and taxes are calculated at checkout, so there are no surprises on delivery."),
      c("Great, thanks."),
    ],
  },
];

const HELP_ARTICLES = [
  {
    title: "Shipping times and costs",
    body: "Orders placed before 2pm ship the same business day. Standard shipping (3-5 business days) is free over $75, otherwise $6. Express shipping (1-2 business days) costs $18. You receive a tracking link by email as soon as your parcel leaves our warehouse.",
    published: true,
  },
  {
    title: "Returns and exchanges",
    body: "You can return or exchange unworn items with their tags within 30 days of delivery. Start a return from the link in your shipping confirmation email and print the prepaid label. Refunds are issued to the original payment method within 5 business days after we receive the parcel. Exchanges ship as soon as the return is scanned by the carrier.",
    published: true,
  },
  {
    title: "Tracking your order",
    body: "Every shipped order has a tracking link in the shipping confirmation email. Tracking can take up to 24 hours to show the first scan. If your tracking hasn't updated for 3 business days, contact us and we'll open a trace with the carrier.",
    published: true,
  },
  {
    title: "Payment methods",
    body: "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and Google Pay. Your card is charged when the order is placed. A temporary authorisation hold may appear for a few days; it is released automatically by your bank.",
    published: true,
  },
  {
    title: "Size guide",
    body: "Our tops run true to size with a relaxed fit; if you are between sizes, take your usual size, or size down for a closer fit. Trousers are cut with a regular rise; check the inseam length in each product's size chart. Shoes fit true to size.",
    published: true,
  },
  {
    title: "Changing or cancelling an order",
    body: "Orders can be changed or cancelled until they ship, usually within a few hours. Contact us as soon as possible with your order number. Once an order has shipped, you can return it for a refund instead.",
    published: true,
  },
  {
    title: "International shipping, duties and taxes",
    body: "We ship to Canada, the UK, the EU and Australia. International shipping costs $15 and takes 6-10 business days. Duties and taxes are calculated and paid at checkout.",
    published: true,
  },
  {
    title: "Gift cards (draft)",
    body: "Gift cards are delivered by email and never expire. They cannot be exchanged for cash.",
    published: false,
  },
] as const;

const GUIDANCE = [
  {
    title: "Refunds above $200 need a human",
    body: "Never promise or issue a refund above $200. Hand the conversation over to the team instead.",
  },
  {
    title: "No delivery date promises",
    body: "Give the usual delivery window from the shipping article, but never promise a specific delivery date.",
  },
  {
    title: "Late delivery goodwill",
    body: "If an order is more than 3 business days late, apologise and offer the 10% discount code SORRY10 for the next order.",
  },
] as const;

// ---------------------------------------------------------------------------------------
// Building one account's rows

type AccountRows = {
  agents: (typeof agents.$inferInsert)[];
  teams: (typeof teams.$inferInsert)[];
  teamMembers: (typeof teamMembers.$inferInsert)[];
  customers: NewCustomer[];
  orders: NewOrder[];
  tags: (typeof tags.$inferInsert)[];
  tickets: NewTicket[];
  messages: NewMessage[];
  ticketTags: (typeof ticketTags.$inferInsert)[];
  views: (typeof views.$inferInsert)[];
  viewFollows: (typeof viewFollows.$inferInsert)[];
  macros: (typeof macros.$inferInsert)[];
  rules: (typeof rules.$inferInsert)[];
  helpArticles: (typeof helpArticles.$inferInsert)[];
  guidance: (typeof guidance.$inferInsert)[];
  aiSettings: (typeof aiSettings.$inferInsert)[];
  accountSettings: (typeof accountSettings.$inferInsert)[];
  billableInteractions: (typeof billableInteractions.$inferInsert)[];
};

function emptyRows(): AccountRows {
  return {
    agents: [], teams: [], teamMembers: [], customers: [], orders: [], tags: [], tickets: [], messages: [],
    ticketTags: [], views: [], viewFollows: [], macros: [], rules: [], helpArticles: [], guidance: [], aiSettings: [],
    accountSettings: [], billableInteractions: [],
  };
}

type AgentSpec = { id: string; email: string; name: string; role: AgentRole };

async function agentRows(accountId: string, specs: readonly AgentSpec[], createdAt: number) {
  return Promise.all(
    specs.map(async (spec) => ({
      id: spec.id,
      accountId,
      email: spec.email,
      name: spec.name,
      role: spec.role,
      passwordHash: await hashPassword(DEMO_PASSWORD),
      createdAt,
    })),
  );
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

const DEMO_AGENTS: readonly AgentSpec[] = [
  { id: "agt_demo_admin_ada", email: "admin@demo.shop", name: "Admin Ada", role: "admin" },
  { id: "agt_demo_ana", email: "ana@demo.shop", name: "Ana", role: "agent" },
  { id: "agt_demo_ben", email: "ben@demo.shop", name: "Ben", role: "agent" },
];

async function buildDemoShop(now: number): Promise<AccountRows> {
  const accountId = DEMO_ACCOUNT_ID;
  const rng = new Rng(20_240_611);
  const rows = emptyRows();
  const start = now - 60 * DAY;

  rows.agents = await agentRows(accountId, DEMO_AGENTS, start);
  const [ada, ana, ben] = DEMO_AGENTS as [AgentSpec, AgentSpec, AgentSpec];
  const support = { id: "team_demo_support", accountId, name: "Support", createdAt: start };
  const sales = { id: "team_demo_sales", accountId, name: "Sales", createdAt: start };
  rows.teams = [support, sales];
  rows.teamMembers = [
    { accountId, teamId: support.id, agentId: ana.id },
    { accountId, teamId: support.id, agentId: ben.id },
    { accountId, teamId: support.id, agentId: ada.id },
    { accountId, teamId: sales.id, agentId: ben.id },
    { accountId, teamId: sales.id, agentId: ada.id },
  ];
  rows.tags = TAGS.map((tag) => ({ id: rng.id("tag"), accountId, name: tag.name, color: tag.color, createdAt: start }));
  const tagId = new Map(rows.tags.map((tag) => [tag.name, tag.id]));

  // Customers: 30, everyone has an email, about half a phone number (fictional 555-01xx).
  const lastNames = rng.shuffle(LAST_NAMES);
  rows.customers = FIRST_NAMES.map((first, i) => {
    const last = lastNames[i] as string;
    const local = `${first}.${last}`
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^A-Za-z.]/g, "")
      .toLowerCase();
    return {
      id: rng.id("customer"),
      accountId,
      name: `${first} ${last}`,
      email: `${local}${rng.chance(0.3) ? rng.int(1, 99) : ""}@${rng.pick(EMAIL_DOMAINS)}`,
      phone: i % 2 === 0 ? `+1555010${String(i).padStart(2, "0")}` : null,
      createdAt: now - rng.int(40, 365) * DAY,
    };
  });

  // Orders: #1001..#1040, one per customer first, then ten repeat buyers.
  const orderStatuses: OrderStatus[] = rng.shuffle([
    ...Array<OrderStatus>(12).fill("delivered"),
    ...Array<OrderStatus>(12).fill("shipped"),
    ...Array<OrderStatus>(8).fill("paid"),
    ...Array<OrderStatus>(4).fill("pending"),
    ...Array<OrderStatus>(2).fill("cancelled"),
    ...Array<OrderStatus>(2).fill("refunded"),
  ]);
  const orderTimes = orderStatuses.map(() => now - rng.int(2 * HOUR, 40 * DAY));
  orderTimes.sort((x, y) => x - y);
  rows.orders = orderStatuses.map((status, i) => {
    const customer = rows.customers[i] ?? rng.pick(rows.customers);
    const products = rng.shuffle(PRODUCTS).slice(0, rng.int(1, 3));
    const items: OrderItem[] = products.map((product) => ({ ...product, quantity: rng.chance(0.2) ? 2 : 1 }));
    const subtotal = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
    const shippingCents = subtotal >= 7500 ? 0 : 600;
    const createdAt = orderTimes[i] as number;
    const shipped = status === "shipped" || status === "delivered" || status === "refunded";
    const shippedAt = shipped ? Math.min(createdAt + rng.int(3 * HOUR, 2 * DAY), now - HOUR) : null;
    const number = `#${1001 + i}`;
    return {
      id: rng.id("order"),
      accountId,
      customerId: customer.id,
      number,
      status,
      totalCents: subtotal + shippingCents,
      currency: "USD",
      items,
      createdAt,
      shippedAt,
      trackingUrl: shipped ? `https://track.example.com/parcel/1Z${String(7_340_000 + i * 137)}` : null,
    };
  });

  // Tickets: 40 across channels, statuses and priorities.
  const channelPlan = rng.shuffle<TicketChannel>([
    ...Array<TicketChannel>(15).fill("email"),
    ...Array<TicketChannel>(14).fill("chat"),
    ...Array<TicketChannel>(6).fill("sms"),
    ...Array<TicketChannel>(5).fill("api"),
  ]);
  const statusPlan = rng.shuffle<TicketStatus>([
    ...Array<TicketStatus>(14).fill("open"),
    ...Array<TicketStatus>(9).fill("pending"),
    ...Array<TicketStatus>(4).fill("snoozed"),
    ...Array<TicketStatus>(13).fill("closed"),
  ]);
  const customerById = new Map(rows.customers.map((customer) => [customer.id, customer]));
  const agentName = new Map(DEMO_AGENTS.map((agent) => [agent.id, agent.name]));

  channelPlan.forEach((channel, i) => {
    const status = statusPlan[i] as TicketStatus;
    const scenario = rng.pick(SCENARIOS.filter((s) => s.channels.includes(channel)));

    // Who is writing, and about which order.
    let order: NewOrder | undefined;
    let customer: NewCustomer;
    const withPhone = (id: string) => channel !== "sms" || customerById.get(id)?.phone != null;
    if (scenario.order) {
      const fitting = rows.orders.filter((o) => scenario.order!.includes(o.status) && withPhone(o.customerId));
      order = rng.pick(fitting.length > 0 ? fitting : rows.orders.filter((o) => withPhone(o.customerId)));
      customer = customerById.get(order.customerId)!;
    } else {
      customer = rng.pick(rows.customers.filter((x) => withPhone(x.id)));
    }

    const team = scenario.team === "Sales" ? sales : support;

    // Which prefix of the script this ticket shows, consistent with its status.
    const script = scenario.script;
    const lastReal = (length: number) => script.slice(0, length).filter((step) => step.kind !== "note" && step.kind !== "system").at(-1);
    const lengths = Array.from({ length: script.length }, (_, k) => k + 1).filter((length) => {
      const last = lastReal(length);
      if (status === "open") return last?.kind === "customer" && script[length - 1]?.kind !== "system";
      if (status === "closed") return length === script.length || last?.kind !== "customer";
      return last?.kind === "agent" || last?.kind === "ai";
    });
    // Half the open tickets are fresh (only the customer's first message).
    const length = status === "open" && rng.chance(0.5) ? 1 : lengths.length > 0 ? rng.pick(lengths) : 1;
    const steps = script.slice(0, length);

    // Assignment: whoever replied or wrote a note owns the ticket; fresh tickets are
    // mostly unassigned, closed/pending ones mostly assigned, and conversations only the
    // AI agent handled stay unassigned.
    const humanTouched = steps.some((step) => step.kind === "agent" || step.kind === "note");
    const aiOnly = !humanTouched && steps.some((step) => step.kind === "ai");
    const assigned = humanTouched || (!aiOnly && rng.chance(status === "open" ? 0.3 : 0.8));
    const assignee = assigned ? rng.pick([ana, ana, ben, ben, ada]) : null;
    const replier = assignee ?? rng.pick([ana, ben]);

    // Timeline: chats move in minutes, email and sms in hours.
    const gaps = steps.map((step, k) => {
      if (k === 0) return 0;
      if (step.kind === "ai" || step.kind === "system") return rng.int(5_000, 40_000);
      return channel === "chat" ? rng.int(1 * MINUTE, 12 * MINUTE) : rng.int(20 * MINUTE, 20 * HOUR);
    });
    const duration = gaps.reduce((sum, gap) => sum + gap, 0);
    const earliest = Math.max(now - 30 * DAY, (order?.createdAt ?? 0) + 6 * HOUR);
    const latest = now - duration - 5 * MINUTE;
    const createdAt = earliest < latest ? rng.int(earliest, latest) : latest;

    const ticketId = rng.id("ticket");
    const firstName = (customer.name ?? "there").split(" ")[0] as string;
    const values = {
      first: firstName,
      order: order?.number ?? "",
      item: order?.items[0]?.name ?? "item",
      tracking: order?.trackingUrl ?? "the link in your shipping confirmation",
      agent: agentName.get(replier.id) ?? "",
    };
    const subject = fill(scenario.subject, values);

    let at = createdAt;
    let firstResponseAt: number | null = null;
    steps.forEach((step, k) => {
      at += gaps[k] as number;
      const body = fill(step.body, values);
      const authorKind: MessageAuthorKind = step.kind === "note" ? "agent" : step.kind;
      const authorId = step.kind === "customer" ? customer.id : step.kind === "agent" || step.kind === "note" ? replier.id : null;
      if (firstResponseAt === null && (step.kind === "agent" || step.kind === "ai")) firstResponseAt = at;
      const id = rng.id("message");
      rows.messages.push({
        id,
        accountId,
        ticketId,
        authorKind,
        authorId,
        body,
        isInternalNote: step.kind === "note",
        channel,
        externalId: channel === "email" && step.kind !== "note" && step.kind !== "system" ? `<${id}@${step.kind === "customer" ? "mail.example.com" : "demo.shop"}>` : null,
        seq: k + 1,
        createdAt: at,
      });
    });
    const lastMessageAt = at;

    // AI involvement.
    const kinds = steps.map((step) => step.kind);
    let aiState: AiState = "none";
    if (kinds.includes("ai")) {
      if (kinds.includes("system") || kinds.includes("agent")) aiState = "handed_over";
      else if (status === "closed") aiState = "resolved";
      else aiState = "answered";
    }
    const closedAt = status === "closed" ? lastMessageAt + rng.int(2 * MINUTE, 3 * HOUR) : null;
    const priority: TicketPriority =
      scenario.priority === "urgent" || rng.chance(0.75) ? scenario.priority : rng.pick(["low", "normal", "high", "urgent"] as const);

    const ticket: NewTicket = {
      id: ticketId,
      accountId,
      customerId: customer.id,
      channel,
      subject,
      status,
      priority,
      assigneeId: assignee?.id ?? null,
      teamId: assigned || rng.chance(0.5) ? team.id : null,
      version: 1 + steps.length + (assigned ? 1 : 0) + (status !== "open" ? 1 : 0),
      snoozedUntil: status === "snoozed" ? now + rng.int(6 * HOUR, 5 * DAY) : null,
      aiState,
      createdAt,
      updatedAt: Math.min(closedAt ?? lastMessageAt, now),
      firstResponseAt,
      closedAt: closedAt === null ? null : Math.min(closedAt, now),
      lastMessageAt,
    };
    rows.tickets.push(ticket);
    for (const name of scenario.tags) rows.ticketTags.push({ accountId, ticketId, tagId: tagId.get(name)! });
    if (ticket.priority === "urgent" && !scenario.tags.includes("vip") && rng.chance(0.5)) {
      rows.ticketTags.push({ accountId, ticketId, tagId: tagId.get("vip")! });
    }
    if (aiState === "resolved") {
      rows.billableInteractions.push({
        id: rng.id("billableInteraction"),
        accountId,
        ticketId,
        reason: "AI agent resolved the ticket without human help",
        resolvedAt: ticket.closedAt ?? lastMessageAt,
        reversedAt: null,
      });
    }
  });

  rows.views = [
    { id: "view_demo_unassigned", accountId, name: "Unassigned", position: 0, ownerAgentId: null, filter: { assignee: "unassigned", status: ["open", "pending"], sort: { field: "updated_at", direction: "asc" } } },
    { id: "view_demo_mine", accountId, name: "My tickets", position: 1, ownerAgentId: null, filter: { assignee: "me", status: ["open", "pending", "snoozed"] } },
    { id: "view_demo_urgent", accountId, name: "Urgent", position: 2, ownerAgentId: null, filter: { priority: ["urgent", "high"], status: ["open", "pending"] } },
    { id: "view_demo_chat", accountId, name: "Chat", position: 3, ownerAgentId: null, filter: { channel: ["chat"], status: ["open", "pending"] } },
  ];
  // New tickets in these views notify their followers.
  rows.viewFollows = [
    { accountId, agentId: ana.id, viewId: "view_demo_unassigned" },
    { accountId, agentId: ben.id, viewId: "view_demo_urgent" },
  ];

  rows.macros = [
    {
      id: "mac_demo_wismo",
      accountId,
      name: "Where is my order",
      body: "Hi {{customer.first_name}}, thanks for reaching out! Your order has shipped and you can follow it with the tracking link in your shipping confirmation email. Deliveries usually take 3-5 business days.",
      actions: [{ type: "add_tag", tagId: tagId.get("order-status")! }, { type: "set_status", status: "pending" }],
    },
    {
      id: "mac_demo_refund",
      accountId,
      name: "Refund issued",
      body: "Hi {{customer.first_name}}, your refund has been issued. It will appear on your statement within 3-5 business days.",
      actions: [{ type: "add_tag", tagId: tagId.get("refund")! }, { type: "set_status", status: "closed" }],
    },
    {
      id: "mac_demo_thanks",
      accountId,
      name: "Thanks and close",
      body: "Glad I could help, {{customer.first_name}}! Have a great day.",
      actions: [{ type: "set_status", status: "closed" }],
    },
    {
      id: "mac_demo_to_sales",
      accountId,
      name: "Escalate to Sales",
      body: "",
      actions: [{ type: "assign_team", teamId: sales.id }, { type: "add_tag", tagId: tagId.get("pre-sales")! }],
    },
  ];

  rows.rules = [
    {
      id: "rule_demo_urgent_payment",
      accountId,
      name: "Double charges are urgent",
      event: "ticket_created",
      conditions: [{ field: "body", op: "contains", value: "charged twice" }],
      actions: [{ type: "set_priority", priority: "urgent" }, { type: "add_tag", tagId: tagId.get("payment")! }],
      position: 0,
      enabled: true,
    },
    {
      id: "rule_demo_sales",
      accountId,
      name: "Bulk orders to Sales",
      event: "ticket_created",
      conditions: [{ field: "body", op: "contains", value: "bulk" }],
      actions: [{ type: "assign_team", teamId: sales.id }],
      position: 1,
      enabled: true,
    },
  ];

  rows.helpArticles = HELP_ARTICLES.map((article, i) => ({
    id: rng.id("helpArticle"),
    accountId,
    title: article.title,
    body: article.body,
    locale: "en",
    published: article.published,
    updatedAt: start + i * DAY,
  }));
  rows.guidance = GUIDANCE.map((entry) => ({ id: rng.id("guidance"), accountId, title: entry.title, body: entry.body, enabled: true }));
  rows.accountSettings = [
    {
      accountId,
      webhookSecret: DEMO_WEBHOOK_SECRET,
      supportEmail: "support@demo.shop",
      timeZone: "Europe/Paris",
      businessHours: Object.fromEntries(
        (["1", "2", "3", "4", "5"] as const).map((day) => [day, { open: "09:00", close: "18:00" }]),
      ),
      updatedAt: start,
    },
  ];
  rows.aiSettings = [
    {
      accountId,
      enabled: true,
      resolutionWindowHours: 72,
      handoverTopics: ["refund above $200", "chargeback", "legal threat", "damaged item"],
      tone: "friendly",
      updatedAt: start,
    },
  ];
  return rows;
}

const OTHER_AGENTS: readonly AgentSpec[] = [
  { id: "agt_other_owner", email: "owner@other.shop", name: "Olive Owner", role: "admin" },
];

async function buildOtherStore(now: number): Promise<AccountRows> {
  const accountId = OTHER_ACCOUNT_ID;
  const rows = emptyRows();
  const start = now - 20 * DAY;
  rows.agents = await agentRows(accountId, OTHER_AGENTS, start);
  rows.teams = [{ id: "team_other_support", accountId, name: "Support", createdAt: start }];
  rows.teamMembers = [{ accountId, teamId: "team_other_support", agentId: "agt_other_owner" }];
  rows.customers = [
    { id: "cus_other_walt", accountId, name: "Walt Whitfield", email: "walt.whitfield@example.org", phone: null, createdAt: start },
    { id: "cus_other_rosa", accountId, name: "Rosa Quintero", email: "rosa.q@example.net", phone: "+15550199", createdAt: start },
  ];
  rows.orders = [
    {
      id: "ord_other_2001",
      accountId,
      customerId: "cus_other_walt",
      number: "#2001",
      status: "shipped",
      totalCents: 3400,
      currency: "EUR",
      items: [{ sku: "TEA-GRN-1", name: "Sencha Green Tea", quantity: 2, unitPriceCents: 1700 }],
      createdAt: now - 6 * DAY,
      shippedAt: now - 5 * DAY,
      trackingUrl: "https://track.example.com/parcel/OT2001",
    },
  ];
  const conversations = [
    {
      ticket: { id: "tkt_other_teapot", customerId: "cus_other_walt", channel: "email" as const, subject: "Teapot lid cracked", status: "open" as const, priority: "high" as const },
      steps: [c("The lid of the porcelain teapot I received is cracked. Can you send a new lid?")],
    },
    {
      ticket: { id: "tkt_other_matcha", customerId: "cus_other_rosa", channel: "sms" as const, subject: "Matcha restock question", status: "closed" as const, priority: "low" as const },
      steps: [c("Hi! Is the ceremonial matcha coming back?"), a("Yes, Rosa, next Tuesday!")],
    },
  ];
  conversations.forEach(({ ticket, steps }, i) => {
    const createdAt = now - (3 - i) * DAY;
    const customer = rows.customers.find((x) => x.id === ticket.customerId)!;
    let at = createdAt;
    steps.forEach((step, k) => {
      at = createdAt + k * HOUR;
      rows.messages.push({
        id: `msg_other_${i}_${k}`,
        accountId,
        ticketId: ticket.id,
        authorKind: step.kind === "customer" ? "customer" : "agent",
        authorId: step.kind === "customer" ? customer.id : "agt_other_owner",
        body: step.body,
        isInternalNote: false,
        channel: ticket.channel,
        seq: k + 1,
        createdAt: at,
      });
    });
    const row: NewTicket = {
      ...ticket,
      accountId,
      assigneeId: ticket.status === "closed" ? "agt_other_owner" : null,
      teamId: "team_other_support",
      version: 1 + steps.length,
      aiState: "none",
      createdAt,
      updatedAt: at,
      firstResponseAt: steps.length > 1 ? createdAt + HOUR : null,
      closedAt: ticket.status === "closed" ? at + MINUTE : null,
      lastMessageAt: at,
    };
    rows.tickets.push(row);
  });
  rows.aiSettings = [{ accountId, enabled: false, handoverTopics: [], updatedAt: start }];
  rows.accountSettings = [{ accountId, webhookSecret: OTHER_WEBHOOK_SECRET, supportEmail: "help@other.shop", updatedAt: start }];
  return rows;
}

// ---------------------------------------------------------------------------------------
// Writing

/** Inserts every row of one account in a single atomic batch. */
async function writeRows(db: AnyShardDb, rows: AccountRows): Promise<void> {
  const statements: BatchItem<"sqlite">[] = [];
  // Parents before children (foreign keys are enforced).
  if (rows.agents.length) statements.push(db.insert(agents).values(rows.agents));
  if (rows.teams.length) statements.push(db.insert(teams).values(rows.teams));
  if (rows.teamMembers.length) statements.push(db.insert(teamMembers).values(rows.teamMembers));
  if (rows.customers.length) statements.push(db.insert(customers).values(rows.customers));
  if (rows.orders.length) statements.push(db.insert(orders).values(rows.orders));
  if (rows.tags.length) statements.push(db.insert(tags).values(rows.tags));
  if (rows.tickets.length) statements.push(db.insert(tickets).values(rows.tickets));
  if (rows.messages.length) statements.push(db.insert(messages).values(rows.messages));
  if (rows.ticketTags.length) statements.push(db.insert(ticketTags).values(rows.ticketTags));
  if (rows.views.length) statements.push(db.insert(views).values(rows.views));
  if (rows.viewFollows.length) statements.push(db.insert(viewFollows).values(rows.viewFollows));
  if (rows.macros.length) statements.push(db.insert(macros).values(rows.macros));
  if (rows.rules.length) statements.push(db.insert(rules).values(rows.rules));
  if (rows.helpArticles.length) statements.push(db.insert(helpArticles).values(rows.helpArticles));
  if (rows.guidance.length) statements.push(db.insert(guidance).values(rows.guidance));
  if (rows.aiSettings.length) statements.push(db.insert(aiSettings).values(rows.aiSettings));
  if (rows.accountSettings.length) statements.push(db.insert(accountSettings).values(rows.accountSettings));
  if (rows.billableInteractions.length) statements.push(db.insert(billableInteractions).values(rows.billableInteractions));
  // The shard's search triggers index tickets and messages as they are inserted.
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

type AccountSeed = { id: string; name: string; createdAt: number; agents: readonly AgentSpec[]; build: (now: number) => Promise<AccountRows> };

/**
 * Seeds "Demo Shop" (acc_demo) and "Other Store" (acc_other) into migrated shards
 * (shard 0 first; it holds the directory). Idempotent.
 */
export async function seedDemoStore(shards: readonly ShardConnection[], options: SeedOptions = {}): Promise<SeededAccount[]> {
  if (shards.length === 0) throw new Error("seedDemoStore needs at least one shard");
  const now = options.now ?? Date.now();
  const clients = shards.map((shard) =>
    createClient(shard.authToken ? { url: shard.url, authToken: shard.authToken } : { url: shard.url }),
  );
  try {
    const dbs = clients.map((client) => drizzle(client));
    const directory = dbs[0]!;
    const seeds: AccountSeed[] = [
      { id: DEMO_ACCOUNT_ID, name: "Demo Shop", createdAt: now - 60 * DAY, agents: DEMO_AGENTS, build: buildDemoShop },
      { id: OTHER_ACCOUNT_ID, name: "Other Store", createdAt: now - 20 * DAY, agents: OTHER_AGENTS, build: buildOtherStore },
    ];
    const results: SeededAccount[] = [];
    for (const seed of seeds) {
      const shardIndex = await registerAccount(directory, { id: seed.id, name: seed.name, createdAt: seed.createdAt }, shards.length);
      const db = dbs[shardIndex];
      if (!db) throw new Error(`account ${seed.id} is placed on shard ${shardIndex}, but only ${shards.length} shards are configured`);
      const existing = await db.select({ id: agents.id }).from(agents).where(eq(agents.accountId, seed.id)).limit(1);
      const created = existing.length === 0;
      if (created) await writeRows(db, await seed.build(now));
      for (const agent of seed.agents) {
        await registerLogin(directory, { email: agent.email, accountId: seed.id, agentId: agent.id });
      }
      results.push({ id: seed.id, name: seed.name, shardIndex, created });
    }
    return results;
  } finally {
    for (const client of clients) client.close();
  }
}
