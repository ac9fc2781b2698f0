import { jwtVerify, SignJWT } from "jose";
import { AgentIdentity } from "./identity.ts";

// Session tokens: HS256 JWTs signed with AUTH_SECRET. They carry the identity so sockets
// and reads need no lookup; the account id in them scopes every query.

const ISSUER = "helpdesk-edge-hub";
const TOKEN_TTL = "12h";

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function signSession(identity: AgentIdentity, secret: string): Promise<string> {
  return new SignJWT({ acc: identity.accountId, name: identity.name, role: identity.role })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(identity.agentId)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(TOKEN_TTL)
    .sign(secretKey(secret));
}

/** The identity in a valid token, or null for anything expired, forged or malformed. */
export async function verifySession(token: string, secret: string): Promise<AgentIdentity | null> {
  try {
    const { payload } = await jwtVerify(token, secretKey(secret), { issuer: ISSUER, algorithms: ["HS256"] });
    const parsed = AgentIdentity.safeParse({
      agentId: payload.sub,
      accountId: payload.acc,
      name: payload.name,
      role: payload.role,
    });
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
