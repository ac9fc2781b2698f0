import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../protocol/index.ts";

describe("GET /health", () => {
  it("reports the protocol version and every shard as reachable", async () => {
    const response = await SELF.fetch("http://hub.test/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      protocolVersion: PROTOCOL_VERSION,
      shards: [
        { index: 0, ok: true },
        { index: 1, ok: true },
      ],
    });
  });
});
