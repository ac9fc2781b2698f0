import type { Env } from "../env.ts";
import { ticketRoom } from "../tickets/rooms.ts";

/** Rooms told at once; a tag on thousands of tickets must not open thousands of calls together. */
const CONCURRENCY = 8;

/**
 * After a tag is deleted: tells the room of every ticket that held it to drop it, so no
 * room keeps reporting a tag that no longer exists (the hub would count it again). Runs
 * after the response; a room that cannot be reached keeps the id until its next change is
 * written, when the shard's statements skip tags that no longer exist.
 */
export async function dropTagFromRooms(env: Env, accountId: string, tagId: string, ticketIds: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ticketIds.length) {
      const ticketId = ticketIds[next++]!;
      try {
        await ticketRoom(env, { accountId, ticketId }).dropTags({ accountId, ticketId }, [tagId]);
      } catch (error) {
        console.warn(`tag ${tagId}: room of ticket ${ticketId} not told of the deletion`, String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ticketIds.length) }, worker));
}
