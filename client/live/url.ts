import { PROTOCOL_VERSION } from "../../protocol/index.ts";

/**
 * The socket URL for `path` (a LivePath) on the page's origin: http→ws, https→wss, with
 * `?v=<PROTOCOL_VERSION>&token=<token>`.
 */
export function liveSocketUrl(pageUrl: string, path: string, token: string): string {
  const url = new URL(path, pageUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.hash = "";
  url.searchParams.set("v", String(PROTOCOL_VERSION));
  url.searchParams.set("token", token);
  return url.toString();
}
