import { useEffect, useState } from "preact/hooks";
import type { CloseReasonName } from "../../protocol/index.ts";
import { type LiveStore, createLiveStore } from "./live-store.ts";
import { type Session, endSession } from "./session.ts";

const AUTH_STOPS: readonly CloseReasonName[] = ["UNAUTHORIZED", "FORBIDDEN"];

function StoppedBanner({ reason }: { reason: CloseReasonName | null }) {
  if (reason === null) return null;
  if (AUTH_STOPS.includes(reason)) {
    return (
      <div class="banner banner-error" role="alert" data-testid="stopped-banner" data-reason={reason}>
        <span>
          {reason === "FORBIDDEN"
            ? "You no longer have access to this inbox. Log in again."
            : "Your session has ended. Log in again to get live updates."}
        </span>
        <button type="button" onClick={() => endSession()}>
          Log in again
        </button>
      </div>
    );
  }
  return (
    <div class="banner banner-error" role="alert" data-testid="stopped-banner" data-reason={reason}>
      <span>
        {reason === "CLIENT_TOO_OLD"
          ? "A new version of the helpdesk is available. Reload the page to continue."
          : "The helpdesk is being updated. Reload the page in a moment."}
      </span>
      <button type="button" onClick={() => location.reload()}>
        Reload
      </button>
    </div>
  );
}

function InboxView({ session, live }: { session: Session; live: LiveStore }) {
  const state = live.state.value;
  const agents = live.online.value;
  return (
    <div class="shell">
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

      <StoppedBanner reason={live.stopReason.value} />
      {live.offline.value && (
        <div class="banner banner-warning" role="status" data-testid="offline-banner">
          <span>Not connected to live updates. Retrying…</span>
          <button type="button" onClick={() => live.reconnectNow()}>
            Retry now
          </button>
        </div>
      )}

      <main class="content">
        <section class="card">
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
          {agents.length === 0 && <p class="muted">Nobody is online right now.</p>}
        </section>
      </main>
    </div>
  );
}

export function InboxPage({ session }: { session: Session }) {
  const [live, setLive] = useState<LiveStore | null>(null);
  useEffect(() => {
    const store = createLiveStore(session);
    setLive(store);
    return () => store.dispose();
  }, [session]);
  return live && <InboxView session={session} live={live} />;
}
