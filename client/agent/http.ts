// Authorised JSON requests to the Worker's API, answered as values (never thrown): every
// failure becomes an ApiFailure with a message fit to show. A 401 ends the session.

import { endSession } from "./session.ts";

export interface ApiFailure {
  /** HTTP status; 0 when the server could not be reached. */
  status: number;
  code: string;
  message: string;
  fields?: Record<string, string[]>;
  /** The answer's JSON, when the request asked for it (`keepFailureBody`). */
  body?: unknown;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiFailure };

export interface RequestOptions<T> {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
  /** Keep a failed answer's JSON in the failure (a 409 that says what changed). */
  keepFailureBody?: boolean;
  /** Turns the JSON body of a 2xx answer into T; null means the answer was not understood. */
  parse: (body: unknown) => T | null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Text for a failed request: the server's own message where it sent one. */
export function failureMessage(status: number, serverMessage: string | undefined): string {
  switch (status) {
    case 0:
      return "Could not reach the server. Check your connection and try again.";
    case 401:
      return "Your session has ended. Log in again.";
    case 404:
      return serverMessage ? `Not found: ${serverMessage}` : "Not found.";
    case 413:
      return "That is too long to send.";
    case 503:
      return "The service is briefly unavailable. Try again in a moment.";
    default:
      if (serverMessage) return capitalize(serverMessage);
      return `The request failed (HTTP ${status}). Try again.`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Reads `{ error: { code, message, fields? } }`; anything else gives a generic failure. */
export function parseFailure(status: number, body: unknown): ApiFailure {
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof error.code === "string" ? error.code : status === 0 ? "NETWORK_ERROR" : `HTTP_${status}`;
  const serverMessage = typeof error.message === "string" && error.message !== "" ? error.message : undefined;
  let fields: Record<string, string[]> | undefined;
  if (isRecord(error.fields)) {
    fields = {};
    for (const [name, problems] of Object.entries(error.fields)) {
      if (Array.isArray(problems)) fields[name] = problems.filter((p): p is string => typeof p === "string");
    }
  }
  let message = failureMessage(status, serverMessage);
  if (fields && Object.keys(fields).length > 0) {
    message += ` (${Object.entries(fields)
      .map(([name, problems]) => `${name}: ${problems.join(", ")}`)
      .join("; ")})`;
  }
  return fields ? { status, code, message, fields } : { status, code, message };
}

export async function apiRequest<T>(token: string, path: string, options: RequestOptions<T>): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch {
    if (options.signal?.aborted) return { ok: false, error: { status: 0, code: "ABORTED", message: "Cancelled." } };
    return { ok: false, error: parseFailure(0, null) };
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    // A token the server no longer accepts: back to the login page (the live socket does the same).
    if (response.status === 401) endSession();
    const failure = parseFailure(response.status, body);
    return { ok: false, error: options.keepFailureBody ? { ...failure, body } : failure };
  }
  const value = options.parse(body);
  if (value === null) {
    return {
      ok: false,
      error: { status: response.status, code: "BAD_RESPONSE", message: "The server sent an unexpected answer. Try again." },
    };
  }
  return { ok: true, value };
}
