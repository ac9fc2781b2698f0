import { useEffect, useMemo } from "preact/hooks";

/** A store made for these deps, disposed when they change or the component unmounts. */
export function useStore<T extends { dispose(): void } | null>(create: () => T, deps: readonly unknown[]): T {
  const store = useMemo(create, deps);
  useEffect(() => () => store?.dispose(), [store]);
  return store;
}
