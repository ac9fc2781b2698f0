import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AccountMovingError } from "../account-moving.ts";
import type { core } from "zod";

// Every error leaves the Worker as `{ error: { code, message, fields? } }` with a precise
// status; handlers throw, this one place answers.

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly fields: Record<string, string[]> | undefined;

  constructor(status: ContentfulStatusCode, code: string, message: string, fields?: Record<string, string[]>) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export function errorBody(code: string, message: string, fields?: Record<string, string[]>) {
  return { error: fields ? { code, message, fields } : { code, message } };
}

const HTTP_CODES: Partial<Record<number, string>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

export const handleError: ErrorHandler = (error, c) => {
  // Writes pause while an account moves between shards (seconds); clients retry.
  if (error instanceof AccountMovingError) {
    c.header("Retry-After", "5");
    return c.json(errorBody("ACCOUNT_MOVING", "this account is being moved; try again in a few seconds"), 503);
  }
  if (error instanceof ApiError) return c.json(errorBody(error.code, error.message, error.fields), error.status);
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return c.json(errorBody(HTTP_CODES[status] ?? "HTTP_ERROR", error.message || "request failed"), status);
  }
  console.error("unhandled error", error);
  return c.json(errorBody("INTERNAL_ERROR", "something went wrong on our side"), 500);
};

/** Turns a zod failure into a 400 listing each bad field. */
export function validationFailed(error: core.$ZodError, c: Context): Response {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)";
    (fields[path] ??= []).push(issue.message);
  }
  return c.json(errorBody("VALIDATION_FAILED", "the request has invalid fields", fields), 400);
}
