// The views in the sidebar: shared ones and the agent's own, in position order.

import { type ReadonlySignal, signal } from "@preact/signals";
import { type View, fetchViews } from "./inbox-api.ts";

export interface ViewsStore {
  /** null until the first answer. */
  readonly views: ReadonlySignal<View[] | null>;
  readonly error: ReadonlySignal<string | null>;
  readonly loading: ReadonlySignal<boolean>;
  reload(): void;
  dispose(): void;
}

export function createViewsStore(token: string): ViewsStore {
  const views = signal<View[] | null>(null);
  const error = signal<string | null>(null);
  const loading = signal(false);
  let controller: AbortController | null = null;

  async function reload(): Promise<void> {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    loading.value = true;
    const result = await fetchViews(token, current.signal);
    if (current.signal.aborted) return;
    loading.value = false;
    if (result.ok) {
      views.value = result.value;
      error.value = null;
    } else {
      error.value = result.error.message;
    }
  }

  void reload();
  return {
    views,
    error,
    loading,
    reload: () => void reload(),
    dispose: () => controller?.abort(),
  };
}
