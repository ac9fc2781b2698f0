import { WebSocketServer } from "ws";

// The Node baseline of the runtime-floor benchmark: the same relay as relay-worker.js on a
// `ws` server with its default options (as Hocuspocus uses it), in a process of its own.
// Prints `READY <port>`; stops when its parent closes stdin or on SIGTERM.

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    for (const other of server.clients) if (other !== ws && other.readyState === other.OPEN) other.send(data, { binary: isBinary });
  });
});
server.on("listening", () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === "object" && address ? address.port : 0}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
