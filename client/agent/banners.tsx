import type { CloseReasonName } from "../../protocol/index.ts";
import type { LiveStore } from "./live-store.ts";
import type { TicketLive } from "./ticket-live.ts";
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

/**
 * The ticket's own socket: the same "Not connected" banner after the same grace period, unless
 * the inbox's banner already says so. A ticket socket stops for good only on a reason the
 * inbox shares (it shows that one) or on NOT_FOUND, where the page says the ticket is gone.
 */
export function TicketLiveBanner({ ticket, inbox }: { ticket: TicketLive; inbox: LiveStore }) {
  if (!ticket.offline.value || inbox.offline.value || inbox.stopReason.value !== null) return null;
  return (
    <div class="banner banner-warning ticket-banner" role="status" data-testid="offline-banner" data-scope="ticket">
      <span>Not connected to live updates for this ticket. Retrying…</span>
      <button type="button" onClick={() => ticket.reconnectNow()}>
        Retry now
      </button>
    </div>
  );
}
