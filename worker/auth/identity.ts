import { z } from "zod";

/** Who is on the other end of a request or socket, as carried in a session token. */
export const AgentIdentity = z.object({
  agentId: z.string().min(1),
  accountId: z.string().min(1),
  name: z.string(),
  role: z.enum(["admin", "agent"]),
});
export type AgentIdentity = z.infer<typeof AgentIdentity>;

/** Header on which the Worker hands a verified identity to a Durable Object. */
export const IDENTITY_HEADER = "X-Helpdesk-Identity";
