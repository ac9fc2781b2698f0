import { describe, expect, it } from "vitest";
import {
  checkClientVersion,
  CloseReason,
  closeReasonByCode,
  MessageType,
  PROTOCOL_VERSION,
  TERMINAL_CLOSE_REASONS,
} from "./index.ts";

describe("protocol", () => {
  it("pins the version: changing it is a deliberate wire change (update docs/PROTOCOL.md)", () => {
    expect(PROTOCOL_VERSION).toBe(1);
  });

  it("keeps y-protocols' message numbering", () => {
    expect(MessageType).toEqual({ sync: 0, awareness: 1, auth: 2, queryAwareness: 3 });
  });

  it("gives every close reason a distinct application code equal to its name", () => {
    const codes = Object.values(CloseReason).map((value) => value.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, value] of Object.entries(CloseReason)) {
      expect(value.reason).toBe(name);
      expect(value.code).toBeGreaterThanOrEqual(4000);
      expect(value.code).toBeLessThan(5000);
      expect(closeReasonByCode(value.code)).toBe(name);
    }
    expect(closeReasonByCode(1006)).toBeUndefined();
    expect(TERMINAL_CLOSE_REASONS).toContain("CLIENT_TOO_OLD");
    expect(TERMINAL_CLOSE_REASONS).not.toContain("BAD_MESSAGE");
  });

  it("classifies client versions", () => {
    expect(checkClientVersion(String(PROTOCOL_VERSION))).toBe("ok");
    expect(checkClientVersion("0")).toBe("CLIENT_TOO_OLD");
    expect(checkClientVersion(null)).toBe("CLIENT_TOO_OLD");
    expect(checkClientVersion(undefined)).toBe("CLIENT_TOO_OLD");
    expect(checkClientVersion("1.5")).toBe("CLIENT_TOO_OLD");
    expect(checkClientVersion("-1")).toBe("CLIENT_TOO_OLD");
    expect(checkClientVersion(String(PROTOCOL_VERSION + 1))).toBe("SERVER_TOO_OLD");
  });
});
