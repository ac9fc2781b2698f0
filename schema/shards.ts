// Shard configuration and connections. Workers-safe: no Node built-ins, and connections
// go through `@libsql/client/web` (HTTP / WebSocket only).
//
// SHARD_URLS   = comma-separated shard URLs, shard 0 first (shard 0 also holds the
//                directory, see directory.ts). Schemes: http, https, libsql, file.
// SHARD_TOKENS = optional comma-separated auth tokens in the same order; an entry may be
//                empty (that shard needs no token). If set, it must have as many entries
//                as SHARD_URLS.
//
// `file:` URLs pass validation (local development, tests) but the web client cannot open
// them: in Node pass `{ createClient }` from `@libsql/client` to `openShard`.
import { createClient as createWebClient } from "@libsql/client/web";
import type { Client, Config } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql/driver-core";
import * as tables from "./tables.ts";

export type ShardConfig = {
  /** Position in SHARD_URLS; what `accounts.shard_index` refers to. */
  index: number;
  url: string;
  authToken?: string;
};

/** Just what is needed to connect (ShardConfig without the index). */
export type ShardConnection = { url: string; authToken?: string | undefined };

/** A drizzle database over one shard, with the table schema attached (`db.query.*`). */
export type ShardDb = LibSQLDatabase<typeof tables>;

/** Any drizzle libSQL database, whatever schema it was opened with (node or web client). */
export type AnyShardDb = LibSQLDatabase<any>;

export type Shard = { index: number; db: ShardDb; client: Client };

export class ShardConfigError extends Error {
  override name = "ShardConfigError";
}

export const SHARD_URL_SCHEMES = ["http:", "https:", "libsql:", "file:"] as const;

/** Splits a comma-separated list, trimming entries; "" or unset gives []. */
function splitList(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [];
  return value.split(",").map((entry) => entry.trim());
}

/** Parses and validates SHARD_URLS / SHARD_TOKENS. Throws ShardConfigError. */
export function parseShardConfig(env: {
  SHARD_URLS?: string | undefined;
  SHARD_TOKENS?: string | undefined;
}): ShardConfig[] {
  const urls = splitList(env.SHARD_URLS);
  if (urls.length === 0) {
    throw new ShardConfigError(
      "SHARD_URLS is empty: set it to a comma-separated list of at least one shard URL (e.g. http://127.0.0.1:8080 or file:.data/shard-0.db)",
    );
  }
  const tokens = splitList(env.SHARD_TOKENS);
  if (tokens.length > 0 && tokens.length !== urls.length) {
    throw new ShardConfigError(
      `SHARD_TOKENS has ${tokens.length} entries but SHARD_URLS has ${urls.length}: give one token per shard, in the same order (leave an entry empty for a shard without a token)`,
    );
  }
  const seen = new Map<string, number>();
  return urls.map((url, index) => {
    if (url === "") {
      throw new ShardConfigError(`SHARD_URLS entry ${index} is empty (check for stray commas)`);
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ShardConfigError(`SHARD_URLS entry ${index} is not a valid URL: ${JSON.stringify(url)}`);
    }
    if (!(SHARD_URL_SCHEMES as readonly string[]).includes(parsed.protocol)) {
      throw new ShardConfigError(
        `SHARD_URLS entry ${index} has unsupported scheme ${JSON.stringify(parsed.protocol)}; use one of ${SHARD_URL_SCHEMES.join(" ")}`,
      );
    }
    if (parsed.protocol !== "file:" && parsed.hostname === "") {
      throw new ShardConfigError(`SHARD_URLS entry ${index} has no host: ${JSON.stringify(url)}`);
    }
    if (parsed.protocol === "file:" && parsed.pathname === "") {
      throw new ShardConfigError(`SHARD_URLS entry ${index} has no file path: ${JSON.stringify(url)}`);
    }
    const previous = seen.get(url);
    if (previous !== undefined) {
      throw new ShardConfigError(`SHARD_URLS entries ${previous} and ${index} are the same URL: each shard must be distinct`);
    }
    seen.set(url, index);
    const token = tokens[index];
    return token ? { index, url, authToken: token } : { index, url };
  });
}

export type OpenShardOptions = {
  /** Defaults to `@libsql/client/web`'s createClient; pass `@libsql/client`'s in Node for file: URLs. */
  createClient?: (config: Config) => Client;
};

/** Opens one shard: a drizzle database plus the raw libSQL client (close it with `client.close()`). */
export function openShard(config: ShardConfig, options: OpenShardOptions = {}): Shard {
  const create = options.createClient ?? createWebClient;
  // @libsql/client queues requests beyond `concurrency` (default 20) and starts them from
  // whichever request frees a slot. In Workers and Durable Objects that runs one request's
  // I/O in another's context ("Cannot perform I/O on behalf of a different request") and
  // can hang both, so the queue is effectively switched off: each call fetches at once.
  const unqueued = { concurrency: 1_000_000 };
  const client = create(
    config.authToken ? { url: config.url, authToken: config.authToken, ...unqueued } : { url: config.url, ...unqueued },
  );
  const db = drizzle(client, { schema: tables });
  return { index: config.index, db, client };
}

/** Opens every configured shard, in index order. */
export function openShards(configs: readonly ShardConfig[], options: OpenShardOptions = {}): Shard[] {
  return configs.map((config) => openShard(config, options));
}
