import { signal } from "@preact/signals";
import { describe, expect, it } from "vitest";
import type { InboxNotification } from "../../protocol/index.ts";
import { startDesktopNotifications } from "./desktop-notifications.ts";
import type { LiveStore } from "./live-store.ts";

function fakeLive() {
  const notifications = signal<readonly InboxNotification[]>([]);
  const isLeader = signal(false);
  const synced = signal(false);
  return { notifications, isLeader, synced, live: { notifications, isLeader, synced } as unknown as LiveStore };
}

const note = (seq: number): InboxNotification => ({ seq, kind: "assigned", ticketId: `t${seq}`, subject: `S${seq}`, viewId: null, at: 0 });

function memoryStorage() {
  const items = new Map<string, string>();
  return { getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value) };
}

describe("desktop notifications", () => {
  it("are shown by the leader tab only, each once per browser, without replaying history", () => {
    const storage = memoryStorage();
    const shown: number[] = [];
    const notifier = { show: (n: InboxNotification) => shown.push(n.seq) };
    const tabA = fakeLive();
    const tabB = fakeLive();
    const stopA = startDesktopNotifications(tabA.live, "agt", (n) => n.subject, notifier, storage);
    const stopB = startDesktopNotifications(tabB.live, "agt", (n) => n.subject, notifier, storage);
    // History present at the first sync is not news.
    for (const tab of [tabA, tabB]) {
      tab.notifications.value = [note(1), note(2)];
      tab.synced.value = true;
    }
    tabA.isLeader.value = true;
    expect(shown).toEqual([]);
    // Missed while asleep: both arrive at once, each shown once, by the leader.
    for (const tab of [tabA, tabB]) tab.notifications.value = [note(1), note(2), note(3), note(4)];
    expect(shown).toEqual([3, 4]);
    // The leader goes; the new one does not show them again, only what is new.
    stopA();
    tabB.isLeader.value = true;
    tabB.notifications.value = [note(1), note(2), note(3), note(4), note(5)];
    expect(shown).toEqual([3, 4, 5]);
    stopB();
  });
});
