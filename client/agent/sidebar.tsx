// Left column: the views (the selected one highlighted) and who is online.

import type { OnlineAgent } from "../live/index.ts";
import type { View } from "./inbox-api.ts";
import { followLink } from "./router.ts";
import { viewPath } from "./routes.ts";
import type { Session } from "./session.ts";
import type { ViewsStore } from "./views-store.ts";

function ViewLink({ view, selected, count }: { view: View; selected: boolean; count?: number }) {
  return (
    <li>
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
        {/* Live per-view counts arrive with the inbox document; the slot is here already. */}
        {count !== undefined && (
          <span class="count" data-testid="view-count">
            {count}
          </span>
        )}
      </a>
    </li>
  );
}

function OnlineAgents({ session, agents }: { session: Session; agents: readonly OnlineAgent[] }) {
  return (
    <section class="sidebar-section">
      <h2>
        Agents online <span class="count">{agents.length}</span>
      </h2>
      <ul class="agents" data-testid="online-agents">
        {agents.map((agent) => (
          <li key={agent.agentId} data-agent-id={agent.agentId}>
            <span class="dot" aria-hidden="true" />
            <span class="agent-name">{agent.name}</span>
            {agent.agentId === session.agent.id && <span class="muted"> (you)</span>}
            {agent.tabs > 1 && <span class="muted tabs">{agent.tabs} tabs</span>}
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
  selectedViewId,
  online,
}: {
  session: Session;
  views: ViewsStore;
  selectedViewId: string | null;
  online: readonly OnlineAgent[];
}) {
  const list = views.views.value;
  return (
    <nav class="sidebar" aria-label="Views">
      <section class="sidebar-section">
        <h2>Views</h2>
        {list === null && !views.error.value && <p class="muted small">Loading views…</p>}
        {views.error.value && (
          <div class="error small" role="alert">
            <p>{views.error.value}</p>
            <button type="button" onClick={() => views.reload()}>
              Try again
            </button>
          </div>
        )}
        {list && list.length === 0 && <p class="muted small">No views yet.</p>}
        {list && list.length > 0 && (
          <ul class="views" data-testid="views">
            {list.map((view) => (
              <ViewLink key={view.id} view={view} selected={view.id === selectedViewId} />
            ))}
          </ul>
        )}
      </section>
      <OnlineAgents session={session} agents={online} />
    </nav>
  );
}
