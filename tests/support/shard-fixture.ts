import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startShardHost } from "../../dev/shard-host/server.ts";
import { seedDemoStore } from "../../dev/seed.ts";
import { migrateShards } from "../../schema/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    shardUrls: string;
  }
}

/** Global setup: a real shard host with two migrated, seeded shards for workerd tests. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "helpdesk-shards-"));
  const host = await startShardHost({ dir, port: 0, shards: 2 });
  const shards = host.urls.map((url, index) => ({ index, url }));
  await migrateShards(shards);
  await seedDemoStore(shards);
  project.provide("shardUrls", host.urls.join(","));
  return async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  };
}
