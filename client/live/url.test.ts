import { describe, expect, it } from "vitest";
import { LivePath, PROTOCOL_VERSION } from "../../protocol/index.ts";
import { liveSocketUrl } from "./url.ts";

describe("liveSocketUrl", () => {
  it("maps http to ws and adds the version and token", () => {
    expect(liveSocketUrl("http://localhost:8787/some/page?x=1#h", LivePath.inbox, "a b&c")).toBe(
      `ws://localhost:8787/live/inbox?v=${PROTOCOL_VERSION}&token=a+b%26c`,
    );
  });

  it("maps https to wss", () => {
    expect(liveSocketUrl("https://help.example.com/", LivePath.inbox, "tok")).toBe(
      `wss://help.example.com/live/inbox?v=${PROTOCOL_VERSION}&token=tok`,
    );
  });
});
