// The agent's availability: what they chose (available, busy, away), and "away" on its own
// while every tab of theirs is idle. Busy and away agents get no auto-assigned tickets.

import { useSignal } from "@preact/signals";
import { AGENT_AVAILABILITIES } from "../../schema/values.ts";
import { type Availability, effectiveAvailability } from "../../protocol/index.ts";
import { setAvailability } from "./live-api.ts";
import type { LiveStore } from "./live-store.ts";
import type { Session } from "./session.ts";

const LABELS: Record<Availability, string> = { available: "Available", busy: "Busy", away: "Away" };

export function AvailabilitySwitch({ session, live }: { session: Session; live: LiveStore }) {
  const error = useSignal<string | null>(null);
  const presence = live.myPresence.value;
  const chosen = presence?.status ?? "available";
  const shown = presence ? effectiveAvailability(presence) : "offline";
  const change = async (status: Availability) => {
    error.value = null;
    const result = await setAvailability(session.token, status);
    if (!result.ok) error.value = result.error.message;
  };
  return (
    <label class={`availability availability-${shown}`} data-testid="availability" data-availability={shown}>
      <span class="dot" aria-hidden="true" />
      <select
        aria-label="Your availability"
        data-testid="availability-select"
        value={chosen}
        onChange={(event) => void change(event.currentTarget.value as Availability)}
      >
        {AGENT_AVAILABILITIES.map((status) => (
          <option key={status} value={status}>
            {LABELS[status]}
          </option>
        ))}
      </select>
      {presence?.idle && <span class="muted small">(idle: shown as away)</span>}
      {error.value && (
        <span class="error small" role="alert">
          {error.value}
        </span>
      )}
    </label>
  );
}
