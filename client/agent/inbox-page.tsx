// The inbox: header with the live state, the views and online agents on the left, the
// selected view's tickets in the middle, the open ticket on the right.
//   /views/:viewId      the view's list; no ticket open
//   /tickets/:ticketId  the ticket, next to the list of the view last looked at

import { signal } from "@preact/signals";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { LiveBanners } from "./banners.tsx";
import type { TicketChanges } from "./inbox-api.ts";
import { type LiveStore, createLiveStore } from "./live-store.ts";
import { startDesktopNotifications } from "./desktop-notifications.ts";
import { notificationText } from "./live-derive.ts";
import { agentNames } from "./people.ts";
import { followLink, navigate, route } from "./router.ts";
import { viewPath } from "./routes.ts";
import type { Session } from "./session.ts";
import { Sidebar } from "./sidebar.tsx";
import { TicketList } from "./ticket-list.tsx";
import { type TicketListStore, createTicketList } from "./ticket-list-store.ts";
import { TicketPage } from "./ticket-page.tsx";
import { Topbar } from "./topbar.tsx";
import { useStore } from "./use-store.ts";
import { createViewsStore } from "./views-store.ts";

const LAST_VIEW_KEY = "helpdesk.lastView";

function readLastView(): string | null {
  try {
    return sessionStorage.getItem(LAST_VIEW_KEY);
  } catch {
    return null;
  }
}

/** The view whose list is shown while a ticket is open (remembered for reloads of this tab). */
const lastViewId = signal<string | null>(readLastView());

function rememberView(viewId: string): void {
  if (lastViewId.peek() === viewId) return;
  lastViewId.value = viewId;
  try {
    sessionStorage.setItem(LAST_VIEW_KEY, viewId);
  } catch {
    // Storage disabled: remembered until reload.
  }
}

function NotFound({ path }: { path: string }) {
  return (
    <div class="empty" data-testid="not-found">
      <p>There is nothing at {path}.</p>
      <a href="/" onClick={followLink}>
        Back to the inbox
      </a>
    </div>
  );
}

function InboxView({ session, live }: { session: Session; live: LiveStore }) {
  const views = useStore(() => createViewsStore(session.token), [session.token]);
  const current = route.value;
  const viewList = views.views.value;

  let selectedViewId: string | null = null;
  if (current.kind === "view") selectedViewId = current.viewId;
  else if (current.kind === "ticket" || current.kind === "home") {
    const remembered = lastViewId.value;
    if (viewList) selectedViewId = viewList.some((v) => v.id === remembered) ? remembered : (viewList[0]?.id ?? null);
  }
  const ticketId = current.kind === "ticket" ? current.ticketId : null;

  useEffect(() => {
    if (current.kind === "view") rememberView(current.viewId);
  }, [current]);

  // The bare inbox URL goes on to a view once the views are known.
  useEffect(() => {
    if (current.kind === "home" && selectedViewId) navigate(viewPath(selectedViewId), { replace: true });
  }, [current, selectedViewId]);

  const list = useStore(
    () => (selectedViewId ? createTicketList(session.token, selectedViewId) : null),
    [session.token, selectedViewId],
  );
  // The ticket page reports its changes to whichever list is shown at the time.
  const listRef = useRef<TicketListStore | null>(list);
  listRef.current = list;
  const onTicketChanged = useCallback((id: string, changes: TicketChanges) => listRef.current?.applyChanges(id, changes), []);

  const directory = live.agents.value;
  const agents = useMemo(() => agentNames(session, directory), [session, directory]);
  const viewName = viewList?.find((view) => view.id === selectedViewId)?.name ?? null;

  return (
    <div class="shell">
      <Topbar session={session} live={live} />
      <LiveBanners live={live} />
      <div class={ticketId ? "workspace has-ticket" : "workspace"}>
        <Sidebar session={session} views={views} live={live} selectedViewId={selectedViewId} />
        <TicketList list={list} viewName={viewName} selectedTicketId={ticketId} activity={live.activity.value} agents={agents} />
        <main class="detail">
          {current.kind === "not-found" ? (
            <NotFound path={current.path} />
          ) : ticketId ? (
            <TicketPage key={ticketId} session={session} ticketId={ticketId} agents={agents} live={live} onChanged={onTicketChanged} />
          ) : (
            <div class="empty muted detail-placeholder">Select a ticket to read the conversation.</div>
          )}
        </main>
      </div>
    </div>
  );
}

export function InboxPage({ session }: { session: Session }) {
  const [live, setLive] = useState<LiveStore | null>(null);
  useEffect(() => {
    const store = createLiveStore(session);
    setLive(store);
    const viewName = (viewId: string) => store.views.peek()?.find((view) => view.id === viewId)?.name;
    const stopDesktop = startDesktopNotifications(store, session.agent.id, (notification) => notificationText(notification, viewName));
    return () => {
      stopDesktop();
      store.dispose();
    };
  }, [session]);
  return live && <InboxView session={session} live={live} />;
}
