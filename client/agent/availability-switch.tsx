// The agent's availability: what they chose (available, busy, away), and "away" on its own
// while every tab of theirs is idle. Busy and away agents get no auto-assigned tickets.

import { useSignal } from "@preact/signals";
import { AGENT_AVAILABILITIES } from "../../schema/values.ts";
import { type Availability, effectiveAvailability } from "../../protocol/index.ts";
import { setAvailability, setIdleAwayMinutes } from "./live-api.ts";
import type { LiveStore } from "./live-store.ts";
import type { Session } from "./session.ts";

const LABELS: Record<Availability, string> = { available: "Available", busy: "Busy", away: "Away" };
/** Choices offered for the idle time; the agent's current value is offered too if it is another. */
const IDLE_CHOICES = [5, 10, 15, 30, 60, 120];

export function AvailabilitySwitch({ session, live }: { session: Session; live: LiveStore }) {
  const error = useSignal<string | null>(null);
  const presence = live.myPresence.value;
  const chosen = presence?.status ?? "available";
  const shown = presence ? effectiveAvailability(presence) : "offline";
  const idleMinutes = live.agents.value.get(session.agent.id)?.idleAwayMinutes;
  const idleChoices = idleMinutes === undefined || IDLE_CHOICES.includes(idleMinutes) ? IDLE_CHOICES : [...IDLE_CHOICES, idleMinutes].sort((a, b) => a - b);
  const change = async (status: Availability) => {
    error.value = null;
    const result = await setAvailability(session.token, status);
    if (!result.ok) error.value = result.error.message;
  };
  // The new value comes back through the inbox document, to every tab and the idle tracker.
  const changeIdle = async (minutes: number) => {
    error.value = null;
    const result = await setIdleAwayMinutes(session.token, minutes);
    if (!result.ok) error.value = result.error.message;
  };
  return (
    <div class={`availability availability-${shown}`} role="group" aria-label="Availability" data-testid="availability" data-availability={shown}>
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
      {idleMinutes !== undefined && (
        <select
          aria-label="Show me as away after this long idle"
          title="Show me as away after this long without activity in any tab"
          data-testid="idle-minutes-select"
          value={String(idleMinutes)}
          onChange={(event) => void changeIdle(Number(event.currentTarget.value))}
        >
          {idleChoices.map((minutes) => (
            <option key={minutes} value={String(minutes)}>
              away after {minutes < 60 ? `${minutes} min` : `${minutes / 60} h`} idle
            </option>
          ))}
        </select>
      )}
      {presence?.idle && <span class="muted small">(idle: shown as away)</span>}
      {error.value && (
        <span class="error small" role="alert">
          {error.value}
        </span>
      )}
    </div>
  );
}
