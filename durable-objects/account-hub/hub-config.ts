import { eq } from "drizzle-orm";
import type { AgentAvailability, AgentRole } from "../../schema/values.ts";
import { accountSettings, agentProfileColumns, agents, tags, teamMembers, viewFollows, views } from "../../schema/tables.ts";
import type { Shard } from "../../schema/shards.ts";
import type { CountedView } from "./view-counts.ts";

// What the hub needs to know of an account's configuration, read from its shard: views to
// count, agents with their routing settings, team memberships, followed views. It changes
// only through the configuration API, which tells the hub to read it again.

export interface HubAgent {
  id: string;
  name: string;
  role: AgentRole;
  /** What the agent chose (available, busy, away), kept on the shard. */
  availability: AgentAvailability;
  capacity: { chat: number; other: number };
  idleAwayMinutes: number;
  teamIds: string[];
  followedViewIds: string[];
}

export interface HubConfig {
  views: CountedView[];
  agents: HubAgent[];
  unassignChatsWhenUnavailable: boolean;
  /** Every tag of the account: a tag the hub's index holds and the account lacks was deleted. */
  tagIds: string[];
}

export const EMPTY_CONFIG: HubConfig = { views: [], agents: [], unassignChatsWhenUnavailable: false, tagIds: [] };

export async function loadHubConfig(shard: Shard, accountId: string): Promise<HubConfig> {
  const [viewRows, agentRows, memberRows, followRows, settingsRow, tagRows] = await Promise.all([
    shard.db.select().from(views).where(eq(views.accountId, accountId)),
    shard.db.select(agentProfileColumns).from(agents).where(eq(agents.accountId, accountId)),
    shard.db.select().from(teamMembers).where(eq(teamMembers.accountId, accountId)),
    shard.db.select().from(viewFollows).where(eq(viewFollows.accountId, accountId)),
    shard.db
      .select({ unassign: accountSettings.unassignChatsWhenUnavailable })
      .from(accountSettings)
      .where(eq(accountSettings.accountId, accountId))
      .get(),
    shard.db.select({ id: tags.id }).from(tags).where(eq(tags.accountId, accountId)),
  ]);
  return {
    views: viewRows
      .map((view) => ({ id: view.id, name: view.name, position: view.position, filter: view.filter, ownerAgentId: view.ownerAgentId }))
      .sort((a, b) => a.position - b.position || a.id.localeCompare(b.id)),
    agents: agentRows
      .map((agent) => ({
        id: agent.id,
        name: agent.name,
        role: agent.role,
        availability: agent.availability,
        capacity: { chat: agent.chatCapacity, other: agent.ticketCapacity },
        idleAwayMinutes: agent.idleAwayMinutes,
        teamIds: memberRows.filter((row) => row.agentId === agent.id).map((row) => row.teamId).sort(),
        followedViewIds: followRows.filter((row) => row.agentId === agent.id).map((row) => row.viewId).sort(),
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    unassignChatsWhenUnavailable: settingsRow?.unassign ?? false,
    tagIds: tagRows.map((row) => row.id).sort(),
  };
}
