// Who is logged in. The token lives in sessionStorage (per tab, gone with the tab); the agent
// is fetched again from /api/me on reload.

import { signal } from "@preact/signals";
import { type Agent, fetchMe } from "./api.ts";

export interface Session {
  token: string;
  agent: Agent;
}

const TOKEN_KEY = "helpdesk.token";

/** "restoring" while a stored token is checked; "unreachable" if that check could not be made. */
export type BootState = "restoring" | "ready" | "unreachable";

export const session = signal<Session | null>(null);
export const boot = signal<BootState>("restoring");

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function writeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the session lasts until reload.
  }
}

export async function restoreSession(): Promise<void> {
  const token = readToken();
  if (token === null) {
    boot.value = "ready";
    return;
  }
  boot.value = "restoring";
  const me = await fetchMe(token);
  if (me.ok) {
    session.value = { token, agent: me.agent };
    boot.value = "ready";
  } else if (me.status === 401 || me.status === 403) {
    writeToken(null);
    boot.value = "ready";
  } else {
    boot.value = "unreachable";
  }
}

export function startSession(token: string, agent: Agent): void {
  writeToken(token);
  session.value = { token, agent };
  boot.value = "ready";
}

export function endSession(): void {
  writeToken(null);
  session.value = null;
  boot.value = "ready";
}
