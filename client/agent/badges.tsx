import { now } from "./clock.ts";
import { dateTime, relativeTime } from "./format.ts";
import type { TagRef } from "./inbox-api.ts";
import { channelLabel, priorityLabel, statusLabel } from "./labels.ts";

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge status-${status}`} data-testid="status-badge" data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

export function PriorityBadge({ priority }: { priority: string }) {
  return (
    <span class={`badge priority-${priority}`} data-testid="priority-badge" data-priority={priority} title="Priority">
      {priorityLabel(priority)}
    </span>
  );
}

export function ChannelLabel({ channel }: { channel: string }) {
  return (
    <span class={`channel channel-${channel}`} data-channel={channel}>
      {channelLabel(channel)}
    </span>
  );
}

export function Tags({ tags }: { tags: readonly TagRef[] }) {
  if (tags.length === 0) return null;
  return (
    <ul class="tags">
      {tags.map((tag) => (
        <li key={tag.id} class="tag" data-tag-id={tag.id}>
          {tag.name}
        </li>
      ))}
    </ul>
  );
}

/** "5 min ago", with the full time on hover; moves on with the clock. */
export function TimeAgo({ at }: { at: number }) {
  return (
    <time dateTime={new Date(at).toISOString()} title={dateTime(at)}>
      {relativeTime(at, now.value)}
    </time>
  );
}
