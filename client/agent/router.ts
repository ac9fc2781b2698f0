// The current route as a signal, kept in step with the address bar (History API).

import { signal } from "@preact/signals";
import type { TargetedMouseEvent } from "preact";
import { type Route, parseRoute } from "./routes.ts";

export const route = signal<Route>(parseRoute(location.pathname));

/** Goes to `path` (same origin); `replace` rewrites the current history entry instead. */
export function navigate(path: string, { replace = false }: { replace?: boolean } = {}): void {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
  }
  route.value = parseRoute(location.pathname);
}

addEventListener("popstate", () => {
  route.value = parseRoute(location.pathname);
});

/**
 * onClick for an <a href> inside the app: a plain left click navigates in place; with a
 * modifier key (new tab, new window, download) the browser does its usual thing.
 */
export function followLink(event: TargetedMouseEvent<HTMLAnchorElement>): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.currentTarget;
  if (anchor.target && anchor.target !== "_self") return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname);
}
