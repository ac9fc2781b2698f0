import { describe, expect, it } from "vitest";
import { parseRoute, ticketPath, viewPath } from "./routes.ts";

describe("agent app routes", () => {
  it("parses the inbox, views and tickets", () => {
    expect(parseRoute("/")).toEqual({ kind: "home" });
    expect(parseRoute("")).toEqual({ kind: "home" });
    expect(parseRoute("/views/view_demo_chat")).toEqual({ kind: "view", viewId: "view_demo_chat" });
    expect(parseRoute("/tickets/tkt_123/")).toEqual({ kind: "ticket", ticketId: "tkt_123" });
  });

  it("round-trips ids that need escaping", () => {
    expect(parseRoute(viewPath("a b/c"))).toEqual({ kind: "view", viewId: "a b/c" });
    expect(parseRoute(ticketPath("t?1"))).toEqual({ kind: "ticket", ticketId: "t?1" });
  });

  it("reports anything else as not found", () => {
    expect(parseRoute("/views")).toEqual({ kind: "not-found", path: "/views" });
    expect(parseRoute("/tickets/a/b")).toEqual({ kind: "not-found", path: "/tickets/a/b" });
    expect(parseRoute("/tickets/%E0%A4%A")).toEqual({ kind: "not-found", path: "/tickets/%E0%A4%A" });
  });
});
