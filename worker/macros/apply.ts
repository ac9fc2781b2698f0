import type { TicketPatch } from "../../durable-objects/ticket-room/ticket-record.ts";
import type { TicketAction } from "../../schema/tables.ts";

const HOUR_MS = 3_600_000;

/**
 * What a macro's actions do to a ticket, as one patch. Later actions win over earlier ones
 * on the same field; tags accumulate. An auto-reply action means nothing in a macro (the
 * macro's own body is the reply) and is ignored.
 */
export function actionsToPatch(actions: readonly TicketAction[], now: number): TicketPatch {
  const patch: TicketPatch = {};
  const add = new Set<string>();
  const remove = new Set<string>();
  for (const action of actions) {
    switch (action.type) {
      case "set_status":
        patch.status = action.status;
        delete patch.snoozedUntil;
        break;
      case "close":
        patch.status = "closed";
        delete patch.snoozedUntil;
        break;
      case "snooze":
        patch.snoozedUntil = now + action.hours * HOUR_MS;
        delete patch.status;
        break;
      case "set_priority":
        patch.priority = action.priority;
        break;
      case "assign_agent":
        patch.assigneeId = action.agentId;
        break;
      case "assign_team":
        patch.teamId = action.teamId;
        break;
      case "add_tag":
        add.add(action.tagId);
        remove.delete(action.tagId);
        break;
      case "remove_tag":
        remove.add(action.tagId);
        add.delete(action.tagId);
        break;
      case "auto_reply":
        break;
    }
  }
  if (add.size > 0) patch.addTagIds = [...add];
  if (remove.size > 0) patch.removeTagIds = [...remove];
  return patch;
}
