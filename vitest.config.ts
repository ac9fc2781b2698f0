import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects. "workers": the Worker and Durable Objects, tested inside workerd through
// @cloudflare/vitest-plugin against a real shard host (migrated and seeded) that the
// global setup starts in Node. "node": everything else — the shard host, schema tooling,
// protocol and client logic, the real stack and the browser.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                SHARD_URLS: inject<string>("shardUrls"),
                AUTH_SECRET: "workers-test-secret-0123456789abcdef",
                DEV_MAILBOX: "on",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["worker/**/*.test.ts", "durable-objects/**/*.test.ts"],
          globalSetup: ["./tests/support/shard-fixture.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "node",
          include: [
            "protocol/**/*.test.ts",
            "schema/**/*.test.ts",
            "dev/**/*.test.ts",
            "client/**/*.test.ts",
            "tests/**/*.test.ts",
          ],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
