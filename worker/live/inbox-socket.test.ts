import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { CloseReason, InboxDoc, MessageType, PermissionDeniedReason } from "../../protocol/index.ts";
import type { AgentIdentity } from "../auth/identity.ts";
import { LiveTestClient, readJson, tokenFor, waitFor } from "../test-support/live-client.ts";

// Each test uses its own account id, so each gets a fresh AccountHub.
let accounts = 0;
function team(): { ana: AgentIdentity; ben: AgentIdentity } {
  const accountId = `acc_live_${++accounts}_${crypto.randomUUID().slice(0, 8)}`;
  return {
    ana: { agentId: "agt_ana", accountId, name: "Ana", role: "agent" },
    ben: { agentId: "agt_ben", accountId, name: "Ben", role: "agent" },
  };
}

function expectClosedWith(closed: { code: number; reason: string }, name: keyof typeof CloseReason) {
  expect(closed).toEqual({ code: CloseReason[name].code, reason: CloseReason[name].reason });
}

describe("refused sockets close with a named reason", () => {
  it("closes a socket without a token as UNAUTHORIZED", async () => {
    const client = await LiveTestClient.open({});
    expectClosedWith(await client.waitForClose(), "UNAUTHORIZED");
  });

  it("closes a socket with a forged token as UNAUTHORIZED", async () => {
    const { ana } = team();
    const client = await LiveTestClient.open({ token: await tokenFor(ana, "not-the-secret-0123456789abcdef") });
    expectClosedWith(await client.waitForClose(), "UNAUTHORIZED");
  });

  it("closes an old or missing protocol version as CLIENT_TOO_OLD, before looking at the token", async () => {
    for (const v of ["0", "", "banana"]) {
      const client = await LiveTestClient.open({ v });
      expectClosedWith(await client.waitForClose(), "CLIENT_TOO_OLD");
    }
  });

  it("closes a version from the future as SERVER_TOO_OLD", async () => {
    const { ana } = team();
    const client = await LiveTestClient.open({ v: "999", token: await tokenFor(ana) });
    expectClosedWith(await client.waitForClose(), "SERVER_TOO_OLD");
  });

  it("closes a token of one account asking for another account's hub as FORBIDDEN", async () => {
    const { ana } = team();
    const other = team();
    const client = await LiveTestClient.open({ token: await tokenFor(ana), account: other.ana.accountId });
    expectClosedWith(await client.waitForClose(), "FORBIDDEN");
  });

  it("answers a plain HTTP request with 426", async () => {
    const { SELF } = await import("cloudflare:test");
    const response = await SELF.fetch("http://hub.test/live/inbox?v=1");
    expect(response.status).toBe(426);
    expect((await readJson(response)).error.code).toBe("UPGRADE_REQUIRED");
  });
});

describe("inbox document sync", () => {
  it("syncs the server-written inbox, which lists the connected agent", async () => {
    const { ana } = team();
    const client = await LiveTestClient.openAs(ana);
    const agents = client.doc.getMap<{ name: string; role: string }>(InboxDoc.agents);
    expect(await waitFor(() => agents.get("agt_ana"), "ana in the inbox")).toMatchObject({ name: "Ana", role: "agent" });
    client.close();
  });

  it("sends later server writes to sockets already connected", async () => {
    const { ana, ben } = team();
    const first = await LiveTestClient.openAs(ana);
    const agents = first.doc.getMap(InboxDoc.agents);
    await waitFor(() => agents.has("agt_ana"), "ana");
    const second = await LiveTestClient.openAs(ben);
    await waitFor(() => agents.has("agt_ben"), "ben's arrival pushed to ana's socket");
    first.close();
    second.close();
  });

  it("merges a burst of server writes into few frames: ten agents joining at once", async () => {
    const { ana } = team();
    const watcher = await LiveTestClient.openAs(ana);
    const agents = watcher.doc.getMap(InboxDoc.agents);
    const presence = watcher.doc.getMap<{ online: boolean }>(InboxDoc.presence);
    await waitFor(() => presence.get("agt_ana")?.online, "ana online");
    const syncFramesBefore = watcher.received.filter((type) => type === MessageType.sync).length;
    // Each join writes the agent and their presence: 20 writes to the inbox.
    const joiners = await Promise.all(
      Array.from({ length: 10 }, (_, i) => LiveTestClient.openAs({ ...ana, agentId: `agt_joiner_${i}`, name: `Joiner ${i}` })),
    );
    await waitFor(() => joiners.every((_, i) => agents.has(`agt_joiner_${i}`) && presence.get(`agt_joiner_${i}`)?.online), "every joiner listed and online");
    const syncFrames = watcher.received.filter((type) => type === MessageType.sync).length - syncFramesBefore;
    expect(syncFrames).toBeGreaterThan(0);
    expect(syncFrames).toBeLessThan(20);
    for (const client of [watcher, ...joiners]) client.close();
  });

  it("refuses a client's write to the inbox with an auth message and does not apply it", async () => {
    const { ana, ben } = team();
    const writer = await LiveTestClient.openAs(ana);
    await waitFor(() => writer.doc.getMap(InboxDoc.agents).has("agt_ana"), "initial sync");

    writer.doc.getMap(InboxDoc.agents).set("agt_mallory", { name: "Mallory", role: "admin" });
    writer.sendUpdate(Y.encodeStateAsUpdate(writer.doc));
    await waitFor(() => writer.denied.length > 0, "a permission-denied message");
    expect(writer.denied).toEqual([PermissionDeniedReason.readOnlyDocument]);
    expect(writer.closed).toBeUndefined();

    const reader = await LiveTestClient.openAs(ben);
    const agents = reader.doc.getMap(InboxDoc.agents);
    await waitFor(() => agents.has("agt_ben") && agents.has("agt_ana"), "reader's sync");
    expect(agents.has("agt_mallory")).toBe(false);
    writer.close();
    reader.close();
  });
});

describe("awareness", () => {
  it("relays presence between agents of the account and removes it when a socket closes", async () => {
    const { ana, ben } = team();
    const anaClient = await LiveTestClient.openAs(ana);
    const benClient = await LiveTestClient.openAs(ben);
    anaClient.publish({ agentId: "agt_ana", name: "Ana" });
    benClient.publish({ agentId: "agt_ben", name: "Ben", viewing: "tkt_1" });
    await waitFor(() => benClient.onlineAgents().includes("agt_ana"), "ben sees ana");
    await waitFor(() => anaClient.onlineAgents().includes("agt_ben"), "ana sees ben");

    // A newcomer gets everyone's state on connect.
    const late = await LiveTestClient.openAs({ ...ana, agentId: "agt_cleo", name: "Cleo" });
    await waitFor(() => late.onlineAgents().join() === "agt_ana,agt_ben", "late joiner sees both");

    benClient.close();
    await waitFor(() => !anaClient.onlineAgents().includes("agt_ben"), "ben gone from ana's view");
    anaClient.close();
    late.close();
  });

  it("does not leak presence to another account", async () => {
    const mine = team();
    const theirs = team();
    const anaClient = await LiveTestClient.openAs(mine.ana);
    const outsider = await LiveTestClient.openAs(theirs.ben);
    const insider = await LiveTestClient.openAs(mine.ben);
    anaClient.publish({ agentId: "agt_ana", name: "Ana" });
    await waitFor(() => insider.onlineAgents().includes("agt_ana"), "same-account agent sees ana");
    expect(outsider.onlineAgents()).toEqual([]);
    for (const client of [anaClient, outsider, insider]) client.close();
  });

  it("refuses awareness that describes another agent or carries unknown fields", async () => {
    const { ana, ben } = team();
    const anaClient = await LiveTestClient.openAs(ana);
    const benClient = await LiveTestClient.openAs(ben);
    anaClient.publish({ agentId: "agt_ben", name: "Ben (not really)" });
    anaClient.publish({ agentId: "agt_ana", name: "Ana", isAdmin: true });
    await waitFor(() => anaClient.denied.length === 2, "two refusals");
    expect(anaClient.denied).toEqual([PermissionDeniedReason.foreignAwareness, PermissionDeniedReason.foreignAwareness]);
    // A valid state afterwards still goes through, and nothing refused was relayed.
    anaClient.publish({ agentId: "agt_ana", name: "Ana" });
    await waitFor(() => benClient.onlineAgents().includes("agt_ana"), "valid state relayed");
    expect([...benClient.awareness.getStates().values()]).toEqual([{ agentId: "agt_ana", name: "Ana" }]);
    anaClient.close();
    benClient.close();
  });

  it("refuses an awareness client id already owned by another socket", async () => {
    const { ana, ben } = team();
    const anaClient = await LiveTestClient.openAs(ana);
    const benClient = await LiveTestClient.openAs(ben);
    anaClient.publish({ agentId: "agt_ana", name: "Ana" }, 4242);
    await waitFor(() => benClient.onlineAgents().includes("agt_ana"), "ana relayed");
    benClient.publish(null, 4242);
    await waitFor(() => benClient.denied.length === 1, "a refusal");
    expect(benClient.denied).toEqual([PermissionDeniedReason.foreignAwareness]);
    const third = await LiveTestClient.openAs({ ...ben, agentId: "agt_cleo", name: "Cleo" });
    await waitFor(() => third.onlineAgents().includes("agt_ana"), "ana still present");
    for (const client of [anaClient, benClient, third]) client.close();
  });
});

describe("bad frames", () => {
  it("close only the offending socket with BAD_MESSAGE; the hub keeps serving the others", async () => {
    const { ana, ben } = team();
    const good = await LiveTestClient.openAs(ana);
    const bad = await LiveTestClient.openAs(ben);
    bad.publish({ agentId: "agt_ben", name: "Ben" });
    await waitFor(() => good.onlineAgents().includes("agt_ben"), "ben present");

    bad.send(new Uint8Array([MessageType.awareness, 0xff, 0xff, 0xff]));
    expectClosedWith(await bad.waitForClose(), "BAD_MESSAGE");
    await waitFor(() => !good.onlineAgents().includes("agt_ben"), "ben's presence removed");

    const again = await LiveTestClient.openAs({ ...ben, agentId: "agt_cleo", name: "Cleo" });
    again.publish({ agentId: "agt_cleo", name: "Cleo" });
    await waitFor(() => good.onlineAgents().includes("agt_cleo"), "hub still relays");
    expect(good.closed).toBeUndefined();
    good.close();
    again.close();
  });

  it("close text frames and unknown message types with BAD_MESSAGE", async () => {
    const { ana } = team();
    const text = await LiveTestClient.openAs(ana);
    text.sendText("hello");
    expectClosedWith(await text.waitForClose(), "BAD_MESSAGE");
    const unknown = await LiveTestClient.openAs(ana);
    unknown.send(new Uint8Array([77]));
    expectClosedWith(await unknown.waitForClose(), "BAD_MESSAGE");
  });
});
