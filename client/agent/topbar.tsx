import { AvailabilitySwitch } from "./availability-switch.tsx";
import type { LiveStore } from "./live-store.ts";
import { NotificationsMenu } from "./notifications-menu.tsx";
import { type Session, endSession } from "./session.ts";

export function Topbar({ session, live }: { session: Session; live: LiveStore }) {
  const state = live.state.value;
  return (
    <header class="topbar">
      <h1>Helpdesk</h1>
      <div class="topbar-right">
        <span
          class={`state state-${state}`}
          data-testid="connection-state"
          data-state={state}
          data-leader={live.isLeader.value}
          title={live.isLeader.value ? "Live updates (this tab holds the connection)" : "Live updates (shared with another tab)"}
        >
          {state}
        </span>
        <NotificationsMenu session={session} live={live} />
        <AvailabilitySwitch session={session} live={live} />
        <span class="me" data-testid="current-agent" data-agent-id={session.agent.id}>
          {session.agent.name} <span class="muted">({session.agent.role})</span>
        </span>
        <button type="button" data-testid="logout" onClick={() => endSession()}>
          Log out
        </button>
      </div>
    </header>
  );
}
