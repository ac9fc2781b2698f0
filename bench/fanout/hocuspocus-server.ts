import { Server } from "@hocuspocus/server";

// The baseline of the fanout benchmark: a stock Hocuspocus server (default configuration,
// no extensions, no persistence, no authentication hook), in a process of its own so that
// neither the benchmark's clients nor its shard host share its event loop. It listens on
// 127.0.0.1 on an ephemeral port and prints `READY <port>` on stdout once it accepts
// connections; it stops on SIGTERM or when its parent goes away (stdin closes).

const server = new Server({
  port: 0,
  address: "127.0.0.1",
  quiet: true,
  stopOnSignals: false,
});

await server.listen();
process.stdout.write(`READY ${server.address.port}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await server.destroy();
  } finally {
    process.exit(0);
  }
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
// The parent holds our stdin open; when it exits (even by SIGKILL) stdin ends.
process.stdin.on("end", () => void stop());
process.stdin.resume();
