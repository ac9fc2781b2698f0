import type { ChildProcess } from "node:child_process";

/**
 * Stops a child: SIGTERM, then SIGKILL if it is still there after 5 s. With `group`, the
 * signals go to its whole process group (a `detached` wrangler and the workerd it started).
 */
export async function stopChild(child: ChildProcess, { group = false } = {}): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(group ? -child.pid! : child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
