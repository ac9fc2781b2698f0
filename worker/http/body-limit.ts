import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./errors.ts";

/** Rejects bodies over `maxBytes` with 413 before they are read in full. */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, "PAYLOAD_TOO_LARGE", `request body is larger than ${maxBytes} bytes`);
    },
  });
}
