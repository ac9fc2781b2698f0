import { runInDurableObject } from "cloudflare:test";

/**
 * Runs a Durable Object's alarm handler as if the clock read `at` (epoch ms): for sweeps
 * that act only once enough time has passed (silent sockets), without waiting it out.
 */
export async function runAlarmAt(stub: DurableObjectStub, at: number): Promise<void> {
  await runInDurableObject(stub, async (instance: DurableObject) => {
    if (!instance.alarm) throw new Error("this Durable Object has no alarm handler");
    const realNow = Date.now;
    Date.now = () => at;
    try {
      await instance.alarm();
    } finally {
      Date.now = realNow;
    }
  });
}
