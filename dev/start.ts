// `npm start`: builds the clients, starts the whole local stack on persistent data in
// .data/local (a second start reuses it: the seed adds nothing twice) and prints where to go.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_LOGINS } from "./seed.ts";
import { startStack } from "./stack.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`${name} must be a port number between 1 and 65535, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

const port = portFromEnv("PORT", 8787);
const shardPort = portFromEnv("SHARD_PORT", 8080);

const build = spawnSync(process.execPath, [join(ROOT, "client", "build.ts")], { cwd: ROOT, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log("Starting the shard host, migrating and seeding, then wrangler dev…");
const stack = await startStack({ port, shardPort, shards: 2, dataDir: join(ROOT, ".data", "local"), inheritOutput: true });

const width = Math.max(...DEMO_LOGINS.map((login) => login.email.length));
console.log(`
  Helpdesk edge hub is running.

  Agent app     ${stack.baseUrl}/
  Dev mailbox   ${stack.baseUrl}/dev/mailbox   (outbound email and SMS land here)
  Health        ${stack.baseUrl}/health
  Shards        ${stack.shardUrls.join("  ")}

  Demo logins (local only, password "${DEMO_LOGINS[0]?.password}"):
${DEMO_LOGINS.map((login) => `    ${login.email.padEnd(width)}  ${login.role}`).join("\n")}

  Ctrl-C stops everything.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  await stack.close();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
