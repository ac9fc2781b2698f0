import { app } from "./app.ts";

export { AccountHub } from "../durable-objects/account-hub.ts";
export { TicketRoom } from "../durable-objects/ticket-room/ticket-room.ts";

export default app;
