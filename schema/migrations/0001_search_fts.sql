-- Custom SQL migration file, put your code below! --
-- Full-text search over tickets (hand-written: drizzle-kit cannot model FTS5 tables, so
-- tickets_fts is not in schema/tables.ts). One row per ticket; the application keeps it
-- up to date (no triggers): `body` is the ticket's message bodies joined by newlines
-- (internal notes included: this search is for agents only).
-- ticket_id and account_id are stored but not tokenised; always filter on account_id.
CREATE VIRTUAL TABLE `tickets_fts` USING fts5(
	ticket_id UNINDEXED,
	account_id UNINDEXED,
	subject,
	body,
	customer_name,
	customer_email,
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '2 3'
);
