// Runs the local shard host (see server.ts):
//   npm run shard-host -- --dir .data/shards --port 8080 --shards 2 [--host 127.0.0.1]
//                         [--auth-token TOKEN] [--baton-timeout-ms 10000]
// Prints each shard's URL (and a SHARD_URLS= line for the Worker's config), runs until
// SIGINT/SIGTERM, then closes cleanly. Bad arguments: message on stderr, exit code 2.
import { parseArgs } from "node:util";
import { startShardHost, type ShardHostOptions } from "./server.ts";

const USAGE = `Usage: npm run shard-host -- --dir <folder> [--port <port>] [--shards <n>]
                           [--host <address>] [--auth-token <token>] [--baton-timeout-ms <ms>]

  --dir               folder of the shard files (shard-<i>.db); created if missing (required)
  --port              port of shard 0, shard i gets port + i; 0 picks free ports (default 8080)
  --shards            number of shards (default 1)
  --host              address to bind (default 127.0.0.1)
  --auth-token        require "Authorization: Bearer <token>" on pipeline requests
                      (default: $SHARD_HOST_AUTH_TOKEN, else no auth)
  --baton-timeout-ms  idle time before a stream expires (default 10000)`;

class UsageError extends Error {}

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parseOptions(argv: string[]): ShardHostOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: "string" },
        port: { type: "string", default: "8080" },
        shards: { type: "string", default: "1" },
        host: { type: "string", default: "127.0.0.1" },
        "auth-token": { type: "string" },
        "baton-timeout-ms": { type: "string", default: "10000" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return "help";
  if (values.dir === undefined || values.dir.trim() === "") throw new UsageError("--dir is required");
  const shards = integer("shards", values.shards, 1, 1000);
  const port = integer("port", values.port, 0, 65535);
  if (port > 0 && port + shards - 1 > 65535) {
    throw new UsageError(`--port ${port} with --shards ${shards} runs past port 65535`);
  }
  const authToken = values["auth-token"] ?? (process.env["SHARD_HOST_AUTH_TOKEN"] || undefined);
  if (authToken !== undefined && !/^\S+$/.test(authToken)) {
    throw new UsageError("--auth-token must be non-empty and contain no whitespace");
  }
  return {
    dir: values.dir,
    port,
    shards,
    host: values.host,
    batonTimeoutMs: integer("baton-timeout-ms", values["baton-timeout-ms"], 1, 24 * 3600 * 1000),
    ...(authToken === undefined ? {} : { authToken }),
  };
}

async function main(): Promise<void> {
  let options: ShardHostOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`shard-host: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === "help") {
    console.log(USAGE);
    return;
  }
  const host = await startShardHost(options);
  host.urls.forEach((url, i) => console.log(`shard ${i}: ${url}`));
  console.log(`SHARD_URLS=${host.urls.join(",")}`);
  console.log(`shard host ready (${options.dir}${options.authToken ? ", auth token required" : ""}); Ctrl+C to stop`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`shard-host: ${signal}, closing`);
    host.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("shard-host: error while closing", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error("shard-host: failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
