// Left column: the views with their live counts (the selected one highlighted) and the
// teammates who are online, once each, with how they show.

import type { EffectiveAvailability } from "../../protocol/index.ts";
import { setFollowedViews } from "./live-api.ts";
import type { SidebarView, Teammate } from "./live-derive.ts";
import type { LiveStore } from "./live-store.ts";
import { followLink } from "./router.ts";
import { viewPath } from "./routes.ts";
import type { Session } from "./session.ts";
import type { ViewsStore } from "./views-store.ts";

function FollowToggle({ followed, onToggle }: { followed: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      class={followed ? "follow followed" : "follow"}
      data-testid="follow-view"
      aria-pressed={followed}
      title={followed ? "You are notified of new tickets here: stop" : "Notify me of new tickets in this view"}
      onClick={onToggle}
    >
      {followed ? "★" : "☆"}
    </button>
  );
}

function ViewLink({
  view,
  selected,
  follow,
}: {
  view: Omit<SidebarView, "count"> & { count: number | null };
  selected: boolean;
  follow: { followed: boolean; toggle: () => void } | null;
}) {
  return (
    <li class="view-item">
      <a
        href={viewPath(view.id)}
        class={selected ? "view-link selected" : "view-link"}
        aria-current={selected ? "page" : undefined}
        data-testid="view-link"
        data-view-id={view.id}
        onClick={followLink}
      >
        <span class="view-name">{view.name}</span>
        {view.ownerAgentId !== null && (
          <span class="view-private" title="Only you see this view">
            private
          </span>
        )}
        {view.count !== null && (
          <span class="count" data-testid="view-count">
            {view.count}
          </span>
        )}
      </a>
      {follow && <FollowToggle followed={follow.followed} onToggle={follow.toggle} />}
    </li>
  );
}

const AVAILABILITY_LABELS: Record<EffectiveAvailability, string> = { available: "available", busy: "busy", away: "away", offline: "offline" };

function OnlineAgents({ session, agents }: { session: Session; agents: readonly Teammate[] }) {
  return (
    <section class="sidebar-section">
      <h2>
        Agents online <span class="count">{agents.length}</span>
      </h2>
      <ul class="agents" data-testid="online-agents">
        {agents.map((agent) => (
          <li key={agent.agentId} data-agent-id={agent.agentId} data-availability={agent.availability} class={`availability-${agent.availability}`}>
            <span class="dot" aria-hidden="true" />
            <span class="agent-name">{agent.name}</span>
            {agent.agentId === session.agent.id && <span class="muted"> (you)</span>}
            {agent.availability !== "available" && <span class="muted small"> {AVAILABILITY_LABELS[agent.availability]}</span>}
          </li>
        ))}
      </ul>
      {agents.length === 0 && <p class="muted small">Nobody is online right now.</p>}
    </section>
  );
}

export function Sidebar({
  session,
  views,
  live,
  selectedViewId,
}: {
  session: Session;
  views: ViewsStore;
  live: LiveStore;
  selectedViewId: string | null;
}) {
  // Live views and counts once the inbox document is here; the HTTP list until then.
  const liveViews = live.views.value;
  const fetched = views.views.value;
  const list = liveViews ?? fetched?.map((view) => ({ ...view, count: null })) ?? null;
  const followed = live.agents.value.get(session.agent.id)?.followedViewIds ?? [];
  const followOf = (viewId: string) =>
    liveViews === null
      ? null
      : {
          followed: followed.includes(viewId),
          toggle: () =>
            void setFollowedViews(session.token, followed.includes(viewId) ? followed.filter((id) => id !== viewId) : [...followed, viewId]),
        };
  return (
    <nav class="sidebar" aria-label="Views">
      <section class="sidebar-section">
        <h2>Views</h2>
        {list === null && !views.error.value && <p class="muted small">Loading views…</p>}
        {list === null && views.error.value && (
          <div class="error small" role="alert">
            <p>{views.error.value}</p>
            <button type="button" onClick={() => views.reload()}>
              Try again
            </button>
          </div>
        )}
        {list && list.length === 0 && <p class="muted small">No views yet.</p>}
        {list && list.length > 0 && (
          <ul class="views" data-testid="views" data-live={liveViews !== null}>
            {list.map((view) => (
              <ViewLink key={view.id} view={view} selected={view.id === selectedViewId} follow={followOf(view.id)} />
            ))}
          </ul>
        )}
      </section>
      <OnlineAgents session={session} agents={live.teammates.value} />
    </nav>
  );
}
