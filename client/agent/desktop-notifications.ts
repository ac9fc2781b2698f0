// Desktop notifications, once per browser: only the tab holding the browser's socket (the
// leader) shows them, and the newest one shown is remembered in localStorage, which every
// tab and every later page load of this browser share. A leader handover or a reload after
// sleep therefore shows each missed notification once, never again.

import { effect } from "@preact/signals";
import type { InboxNotification } from "../../protocol/index.ts";
import type { LiveStore } from "./live-store.ts";

export interface DesktopNotifier {
  show(notification: InboxNotification): void;
}

/** The browser's Notification API, when the agent allowed it. */
export const browserNotifier: DesktopNotifier = {
  show(notification) {
    if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
    new Notification("Helpdesk", { body: notification.subject, tag: `helpdesk-${notification.ticketId}-${notification.seq}` });
  },
};

export function startDesktopNotifications(
  live: LiveStore,
  agentId: string,
  text: (notification: InboxNotification) => string,
  notifier: DesktopNotifier = browserNotifier,
  storage: Pick<Storage, "getItem" | "setItem"> = localStorage,
): () => void {
  const key = `helpdesk.notified.${agentId}`;
  return effect(() => {
    const list = live.notifications.value;
    if (!live.isLeader.value || !live.synced.value) return;
    const newest = list.at(-1)?.seq ?? 0;
    const stored = storage.getItem(key);
    // First time in this browser: the history is not news.
    let shown = stored === null ? newest : Number(stored);
    if (!Number.isFinite(shown)) shown = newest;
    for (const notification of list) {
      if (notification.seq <= shown) continue;
      notifier.show({ ...notification, subject: text(notification) });
      shown = notification.seq;
    }
    storage.setItem(key, String(shown));
  });
}
