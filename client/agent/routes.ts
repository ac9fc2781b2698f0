// The agent app's URLs. Pure: no browser globals, so it is unit-tested in Node.
//   /                   the inbox; goes on to the last or first view
//   /views/:viewId      a view's ticket list
//   /tickets/:ticketId  one ticket (next to the list of the last view)

export type Route =
  | { kind: "home" }
  | { kind: "view"; viewId: string }
  | { kind: "ticket"; ticketId: string }
  | { kind: "not-found"; path: string };

function segment(value: string): string | null {
  try {
    const decoded = decodeURIComponent(value);
    return decoded === "" ? null : decoded;
  } catch {
    return null;
  }
}

export function parseRoute(pathname: string): Route {
  const parts = pathname.split("/").filter((part) => part !== "");
  if (parts.length === 0) return { kind: "home" };
  if (parts.length === 2 && parts[0] === "views") {
    const viewId = segment(parts[1] ?? "");
    if (viewId) return { kind: "view", viewId };
  }
  if (parts.length === 2 && parts[0] === "tickets") {
    const ticketId = segment(parts[1] ?? "");
    if (ticketId) return { kind: "ticket", ticketId };
  }
  return { kind: "not-found", path: pathname };
}

export function viewPath(viewId: string): string {
  return `/views/${encodeURIComponent(viewId)}`;
}

export function ticketPath(ticketId: string): string {
  return `/tickets/${encodeURIComponent(ticketId)}`;
}
