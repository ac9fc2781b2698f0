// The bell: this agent's notifications from the inbox document, the unread count (also in
// the tab title), and "read up to" sent back when the list is opened.

import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { TimeAgo } from "./badges.tsx";
import { markNotificationsRead } from "./live-api.ts";
import { notificationText, pageTitle } from "./live-derive.ts";
import type { LiveStore } from "./live-store.ts";
import { followLink } from "./router.ts";
import { ticketPath } from "./routes.ts";
import type { Session } from "./session.ts";

/** Offers desktop notifications until the browser has an answer from the agent. */
function DesktopPermission() {
  const permission = useSignal(typeof Notification === "undefined" ? "denied" : Notification.permission);
  if (permission.value !== "default") return null;
  return (
    <button
      type="button"
      class="link-button small"
      onClick={() => void Notification.requestPermission().then((answer) => (permission.value = answer))}
    >
      Also show them on the desktop
    </button>
  );
}

export function NotificationsMenu({ session, live }: { session: Session; live: LiveStore }) {
  const open = useSignal(false);
  const unread = live.unread.value;
  const notifications = live.notifications.value;
  const readUpTo = live.readUpTo.value;
  const viewName = (viewId: string) => live.views.value?.find((view) => view.id === viewId)?.name;

  useEffect(() => {
    document.title = pageTitle(unread);
  }, [unread]);

  const toggle = () => {
    open.value = !open.value;
    const newest = notifications.at(-1)?.seq ?? 0;
    if (open.value && newest > readUpTo) void markNotificationsRead(session.token, newest);
  };

  return (
    <div class="notifications">
      <button type="button" class="bell" aria-expanded={open.value} data-testid="notifications-button" onClick={toggle}>
        Notifications
        {unread > 0 && (
          <span class="count unread" data-testid="unread-count">
            {unread}
          </span>
        )}
      </button>
      {open.value && (
        <div class="notifications-panel" role="dialog" aria-label="Notifications">
          <DesktopPermission />
          {notifications.length === 0 ? (
            <p class="muted small">Nothing yet.</p>
          ) : (
            <ul data-testid="notifications">
              {[...notifications].reverse().map((notification) => (
                <li
                  key={notification.seq}
                  class={notification.seq > readUpTo ? "notification unread" : "notification"}
                  data-testid="notification"
                  data-kind={notification.kind}
                  data-ticket-id={notification.ticketId}
                  data-seq={notification.seq}
                >
                  <a
                    href={ticketPath(notification.ticketId)}
                    onClick={(event) => {
                      followLink(event);
                      open.value = false;
                    }}
                  >
                    {notificationText(notification, viewName)}
                  </a>
                  <span class="muted small">
                    <TimeAgo at={notification.at} />
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
