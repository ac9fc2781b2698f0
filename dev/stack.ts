import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { migrateShards } from "../schema/migrate.ts";
import { freePort, waitForHttpOk } from "./ports.ts";
import { stopChild } from "./processes.ts";
import { seedDemoStore } from "./seed.ts";
import { startShardHost, type ShardHost } from "./shard-host/server.ts";

// The whole local stack in one call: the libSQL shard host, migrations and the demo seed on
// every shard, and the Worker with its Durable Objects in workerd (`wrangler dev`). Used by
// `npm start` and by the stack and browser tests.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** Only for a developer's machine; production reads AUTH_SECRET from a Cloudflare secret. */
export const LOCAL_AUTH_SECRET = "local-development-only-secret-do-not-deploy";

export interface StackOptions {
  /** Worker port; 0 picks a free one. */
  port?: number;
  /** First shard port (shard i listens on shardPort + i); 0 picks free ones. */
  shardPort?: number;
  shards?: number;
  /** Where shard files and Durable Object storage live (kept between runs). */
  dataDir?: string;
  /** Print wrangler's output (npm start) or keep it for errors only (tests). */
  inheritOutput?: boolean;
}

export interface Stack {
  baseUrl: string;
  shardUrls: string[];
  /** Stops the shard host (an outage, for fault tests); the Worker keeps running. */
  stopShards(): Promise<void>;
  /** Starts the shard host again on the same ports and files. */
  startShards(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = resolve(options.dataDir ?? join(ROOT, ".data", `test-${process.pid}-${Date.now()}`));
  const shardCount = options.shards ?? 2;
  await mkdir(dataDir, { recursive: true });

  const shardDir = join(dataDir, "shards");
  let host: ShardHost | null = await startShardHost({ dir: shardDir, port: options.shardPort ?? 0, shards: shardCount });
  const shardUrls = host.urls;
  const shardPorts = shardUrls.map((url) => Number(new URL(url).port));
  const stopShards = async () => {
    await host?.close();
    host = null;
  };
  let wrangler: ChildProcess | undefined;
  try {
    const shards = shardUrls.map((url, index) => ({ index, url }));
    await migrateShards(shards);
    await seedDemoStore(shards);

    const port = options.port || (await freePort());
    const inspectorPort = await freePort();
    const output: string[] = [];
    wrangler = spawn(
      process.execPath,
      [
        WRANGLER,
        "dev",
        "--ip", "127.0.0.1",
        "--port", String(port),
        "--inspector-port", String(inspectorPort),
        "--persist-to", join(dataDir, "wrangler"),
        "--show-interactive-dev-session=false",
        "--var", `SHARD_URLS:${shardUrls.join(",")}`,
        "--var", `AUTH_SECRET:${LOCAL_AUTH_SECRET}`,
        // Outbound email/SMS go to the dev mailbox at /dev/mailbox (no real provider here).
        "--var", "DEV_MAILBOX:on",
      ],
      {
        cwd: ROOT,
        env: {
          // Miniflare fetches `Request.cf` from workers.cloudflare.com on every start and
          // prints a stack trace when offline; nothing here reads request.cf, so it uses the
          // built-in placeholder. Set CLOUDFLARE_CF_FETCH_ENABLED=true to fetch anyway.
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          ...process.env,
          WRANGLER_SEND_METRICS: "false",
          CI: "true",
        },
        stdio: options.inheritOutput ? "inherit" : "pipe",
        detached: true,
      },
    );
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
    };
    wrangler.stdout?.on("data", keep);
    wrangler.stderr?.on("data", keep);
    let exited = false;
    wrangler.on("exit", () => {
      exited = true;
    });

    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      await waitForHttpOk(`${baseUrl}/health`, 90_000, () => !exited);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : error}\n--- wrangler output ---\n${output.join("")}`);
    }

    const child = wrangler;
    return {
      baseUrl,
      shardUrls,
      stopShards,
      async startShards() {
        if (host) return;
        host = await startShardHost({ dir: shardDir, port: 0, ports: shardPorts, shards: shardCount });
      },
      async close() {
        await stopChild(child, { group: true });
        await stopShards();
      },
    };
  } catch (error) {
    if (wrangler) await stopChild(wrangler, { group: true });
    await stopShards();
    throw error;
  }
}
