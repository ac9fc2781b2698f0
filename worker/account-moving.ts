// Defined beside the placement cache (schema/placements.ts), which throws it; re-exported
// here for the Worker's error handler and callers.
export { AccountMovingError } from "../schema/placements.ts";
