// drizzle-kit configuration: `npm run db:generate` (= `drizzle-kit generate`) diffs
// schema/tables.ts against the last snapshot in schema/migrations/meta and writes the next
// SQL migration there. `npm run migrate` applies the folder to every shard.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./schema/tables.ts",
  out: "./schema/migrations",
  strict: true,
  verbose: true,
});
