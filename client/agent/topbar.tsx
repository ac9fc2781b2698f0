import type { LiveStore } from "./live-store.ts";
import { type Session, endSession } from "./session.ts";

export function Topbar({ session, live }: { session: Session; live: LiveStore }) {
  const state = live.state.value;
  return (
    <header class="topbar">
      <h1>Helpdesk</h1>
      <div class="topbar-right">
        <span class={`state state-${state}`} data-testid="connection-state" data-state={state} title="Live updates">
          {state}
        </span>
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
