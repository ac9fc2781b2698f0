// Gives `env` from "cloudflare:test" the Worker's own binding types.
import type { Env as WorkerEnv } from "./env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
