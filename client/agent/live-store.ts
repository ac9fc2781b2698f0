// Bridges a LiveConnection to signals for the UI.

import { type ReadonlySignal, batch, computed, effect, signal } from "@preact/signals";
import type { CloseReasonName } from "../../protocol/index.ts";
import { LivePath } from "../../protocol/index.ts";
import { LiveConnection, type LiveState, type OnlineAgent, liveSocketUrl, onlineAgents } from "../live/index.ts";
import type { Session } from "./session.ts";

export interface LiveStore {
  readonly state: ReadonlySignal<LiveState>;
  readonly stopReason: ReadonlySignal<CloseReasonName | null>;
  readonly online: ReadonlySignal<OnlineAgent[]>;
  /** True once the connection has been down for longer than the grace period. */
  readonly offline: ReadonlySignal<boolean>;
  reconnectNow(): void;
  dispose(): void;
}

/** How long a connection may be down before the UI says so. */
export const OFFLINE_GRACE_MS = 2_000;

function sameAgents(a: OnlineAgent[], b: OnlineAgent[]): boolean {
  return a.length === b.length && a.every((x, i) => x.agentId === b[i]?.agentId && x.name === b[i]?.name && x.tabs === b[i]?.tabs);
}

export function createLiveStore({ token, agent }: Session, graceMs = OFFLINE_GRACE_MS): LiveStore {
  const connection = new LiveConnection({
    url: () => liveSocketUrl(location.href, LivePath.inbox, token),
    localState: { agentId: agent.id, name: agent.name },
  });

  const state = signal<LiveState>(connection.state);
  const stopReason = signal<CloseReasonName | null>(connection.stopReason);
  const online = signal<OnlineAgent[]>([]);
  const synced = signal(connection.status.synced);
  const downLongEnough = signal(false);

  const unsubscribe = connection.subscribe((status) =>
    batch(() => {
      state.value = status.state;
      stopReason.value = status.stopReason;
      synced.value = status.synced;
    }),
  );

  const refreshOnline = (): void => {
    const next = onlineAgents(connection.awareness.getStates());
    if (!sameAgents(online.peek(), next)) online.value = next;
  };
  connection.awareness.on("change", refreshOnline);
  refreshOnline();

  // "Up" means a completed handshake, not merely an open socket: a server that accepts and then
  // closes at once must not keep resetting the grace period. The period runs from the moment
  // the connection went down (or from the start) and is not restarted by reconnect attempts.
  const up = computed(() => state.value === "stopped" || (state.value === "connected" && synced.value));
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const disposeGrace = effect(() => {
    if (up.value) {
      clearTimeout(graceTimer);
      graceTimer = undefined;
      downLongEnough.value = false;
    } else if (graceTimer === undefined && !downLongEnough.peek()) {
      graceTimer = setTimeout(() => {
        graceTimer = undefined;
        downLongEnough.value = true;
      }, graceMs);
    }
  });

  connection.connect();

  return {
    state,
    stopReason,
    online,
    offline: computed(() => downLongEnough.value && !up.value),
    reconnectNow: () => connection.reconnectNow(),
    dispose() {
      disposeGrace();
      clearTimeout(graceTimer);
      unsubscribe();
      connection.awareness.off("change", refreshOnline);
      connection.destroy();
    },
  };
}
