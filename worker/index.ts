import { app } from "./app.ts";

export { AccountHub } from "../durable-objects/account-hub/account-hub.ts";
export { AccountWriter } from "../durable-objects/account-writer.ts";
export { TicketRoom } from "../durable-objects/ticket-room/ticket-room.ts";

export default app;
