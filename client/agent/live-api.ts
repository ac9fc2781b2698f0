// The live inbox's intents: state comes down over the inbox document, these go up over HTTP.

import type { Availability } from "../../protocol/index.ts";
import { type ApiResult, apiRequest, isRecord } from "./http.ts";

export function setAvailability(token: string, status: Availability): Promise<ApiResult<Availability>> {
  return apiRequest(token, "/api/me/availability", {
    method: "PUT",
    body: { status },
    parse: (answer) => (isRecord(answer) && typeof answer.availability === "string" ? (answer.availability as Availability) : null),
  });
}

export function markNotificationsRead(token: string, seq: number): Promise<ApiResult<true>> {
  return apiRequest(token, "/api/me/notifications/read", { method: "POST", body: { seq }, parse: () => true });
}

/** Replaces the views whose new tickets notify this agent. */
export function setFollowedViews(token: string, followedViewIds: readonly string[]): Promise<ApiResult<string[]>> {
  return apiRequest(token, "/api/me/preferences", {
    method: "PATCH",
    body: { followedViewIds },
    parse: (answer) =>
      isRecord(answer) && Array.isArray(answer.followedViewIds) ? answer.followedViewIds.filter((id): id is string => typeof id === "string") : null,
  });
}

/** How long without activity in any tab before this agent shows as away. */
export function setIdleAwayMinutes(token: string, idleAwayMinutes: number): Promise<ApiResult<number>> {
  return apiRequest(token, "/api/me/preferences", {
    method: "PATCH",
    body: { idleAwayMinutes },
    parse: (answer) => (isRecord(answer) && typeof answer.idleAwayMinutes === "number" ? answer.idleAwayMinutes : null),
  });
}
