import { type ReadonlySignal, computed, effect, signal } from "@preact/signals";

/**
 * "Not connected to live updates" for a connection: true only once `settled` has been false
 * for `graceMs` without a break, so a blink (a reconnect, a tab handover, a server restart)
 * shows nothing. `settled` is true while no such banner is due: the connection is up, or it
 * stopped and shows a banner of its own.
 */
export function offlineAfterGrace(settled: ReadonlySignal<boolean>, graceMs: number): { offline: ReadonlySignal<boolean>; dispose(): void } {
  const downLongEnough = signal(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disposeEffect = effect(() => {
    if (settled.value) {
      clearTimeout(timer);
      timer = undefined;
      downLongEnough.value = false;
    } else if (timer === undefined && !downLongEnough.peek()) {
      timer = setTimeout(() => {
        timer = undefined;
        downLongEnough.value = true;
      }, graceMs);
    }
  });
  return {
    offline: computed(() => downLongEnough.value && !settled.value),
    dispose() {
      disposeEffect();
      clearTimeout(timer);
    },
  };
}
