// Signed page cursors for ticket lists and searches: `<payload>.<mac>`, both base64url, the
// payload JSON and the MAC an HMAC-SHA256 (WebCrypto) with a key derived from AUTH_SECRET.
//
// Why sign: a search cursor carries the rowid window the search ranks (search.ts, "Cost
// control"); an unsigned one let a crafted cursor rank every full-text row of the shard in
// one request. The MAC covers the account, the sort, the order and the search terms besides
// the payload, so a cursor only works for the query that returned it, in its account.
// The payload stays readable (it holds nothing the holder does not know already).

export class CursorError extends Error {
  override name = "CursorError";
}

/** What a cursor is valid for; none of it has to be in the payload. */
export type CursorBinding = {
  accountId: string;
  sort: string;
  order: string;
  /** The search terms as searched (empty for a plain list). */
  terms: string;
};

const INVALID = "the cursor is not one this API returned";
/** Bumped if the payload's meaning changes: older cursors then fail their MAC. */
const PURPOSE = "helpdesk search cursor v1";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** A key used for cursors only, so a cursor MAC can never stand for a session token's. */
function cursorKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const root = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(PURPOSE));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    })();
    keys.set(secret, key);
  }
  return key;
}

function signedBytes(payload: string, binding: CursorBinding): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify([binding.accountId, binding.sort, binding.order, binding.terms, payload]));
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The cursor for `data` (a JSON object), valid only for `binding`. */
export async function sealCursor(data: Record<string, unknown>, binding: CursorBinding, secret: string): Promise<string> {
  const payload = toBase64Url(encoder.encode(JSON.stringify({ ...data, a: binding.accountId })));
  const mac = await crypto.subtle.sign("HMAC", await cursorKey(secret), signedBytes(payload, binding));
  return `${payload}.${toBase64Url(new Uint8Array(mac))}`;
}

/**
 * The payload of a cursor sealed for `binding`, or a CursorError saying what is wrong with it.
 * `describe` names a mismatch of the caller's own fields (say, another sort) from the
 * unverified payload, for a precise message; only a verified payload is returned.
 */
export async function openCursor(
  cursor: string,
  binding: CursorBinding,
  secret: string,
  describe: (data: Record<string, unknown>) => string | null,
): Promise<Record<string, unknown>> {
  const parts = cursor.split(".");
  if (parts.length !== 2) throw new CursorError(INVALID);
  const [payload = "", mac = ""] = parts;
  let data: unknown;
  let macBytes: Uint8Array<ArrayBuffer>;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(payload)));
    macBytes = fromBase64Url(mac);
  } catch {
    throw new CursorError(INVALID);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new CursorError(INVALID);
  const fields = data as Record<string, unknown>;
  if (await crypto.subtle.verify("HMAC", await cursorKey(secret), macBytes, signedBytes(payload, binding))) return fields;
  if (typeof fields["a"] === "string" && fields["a"] !== binding.accountId) {
    throw new CursorError("the cursor belongs to another account: start again without it");
  }
  throw new CursorError(describe(fields) ?? "the cursor was altered: pass nextCursor exactly as it was returned");
}
