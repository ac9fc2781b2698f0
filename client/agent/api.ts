// The HTTP API the agent app talks to (same origin as the page).

export interface Agent {
  id: string;
  name: string;
  role: string;
  accountId: string;
}

export type LoginResult = { ok: true; token: string; agent: Agent } | { ok: false; status: number; message: string };

export type MeResult = { ok: true; agent: Agent } | { ok: false; status: number };

function isAgent(value: unknown): value is Agent {
  if (typeof value !== "object" || value === null) return false;
  const { id, name, role, accountId } = value as Record<string, unknown>;
  return typeof id === "string" && typeof name === "string" && typeof role === "string" && typeof accountId === "string";
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function loginFailureMessage(status: number): string {
  switch (status) {
    case 0:
      return "Could not reach the server. Check your connection and try again.";
    case 400:
      return "Enter a valid email address and your password.";
    case 401:
      return "Wrong email or password.";
    case 429:
      return "Too many attempts. Wait a moment and try again.";
    default:
      return `Logging in failed (HTTP ${status}). Try again.`;
  }
}

export async function login(email: string, password: string): Promise<LoginResult> {
  let response: Response;
  try {
    response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ email, password }),
    });
  } catch {
    return { ok: false, status: 0, message: loginFailureMessage(0) };
  }
  const body = await readJson(response);
  if (response.ok) {
    const { token, agent } = (body ?? {}) as Record<string, unknown>;
    if (typeof token === "string" && token !== "" && isAgent(agent)) return { ok: true, token, agent };
    return { ok: false, status: response.status, message: "The server sent an unexpected answer. Try again." };
  }
  return { ok: false, status: response.status, message: loginFailureMessage(response.status) };
}

/** Who the token belongs to; status 0 means the server could not be reached. */
export async function fetchMe(token: string): Promise<MeResult> {
  let response: Response;
  try {
    response = await fetch("/api/me", { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  } catch {
    return { ok: false, status: 0 };
  }
  const body = await readJson(response);
  const agent = response.ok ? ((body ?? {}) as Record<string, unknown>).agent : undefined;
  return isAgent(agent) ? { ok: true, agent } : { ok: false, status: response.ok ? 502 : response.status };
}
