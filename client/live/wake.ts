// Moments worth skipping the backoff wait for: the network came back, or the user looks at
// the tab again. Injected into LiveConnection so tests (and other hosts) can fire them.

/** Subscribes `wake` to such moments; returns the unsubscribe function. */
export type WakeSignals = (wake: () => void) => () => void;

/** `online` on window and `visibilitychange` to visible on document; a no-op outside a browser. */
export const browserWakeSignals: WakeSignals = (wake) => {
  if (typeof window === "undefined" || typeof document === "undefined") return () => {};
  const onOnline = (): void => wake();
  const onVisibilityChange = (): void => {
    if (document.visibilityState === "visible") wake();
  };
  window.addEventListener("online", onOnline);
  document.addEventListener("visibilitychange", onVisibilityChange);
  return () => {
    window.removeEventListener("online", onOnline);
    document.removeEventListener("visibilitychange", onVisibilityChange);
  };
};
