import type { CloseReasonName } from "../../protocol/index.ts";
import type { LiveStore } from "./live-store.ts";
import { endSession } from "./session.ts";

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

/** A stopped connection (auth, version) or one down for longer than the grace period. */
export function LiveBanners({ live }: { live: LiveStore }) {
  return (
    <>
      <StoppedBanner reason={live.stopReason.value} />
      {live.offline.value && (
        <div class="banner banner-warning" role="status" data-testid="offline-banner">
          <span>Not connected to live updates. Retrying…</span>
          <button type="button" onClick={() => live.reconnectNow()}>
            Retry now
          </button>
        </div>
      )}
    </>
  );
}
