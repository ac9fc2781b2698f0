-- Custom SQL migration file, put your code below! --
-- The search index (tickets_fts, 0001) is kept up to date by triggers from here on, so every
-- writer of tickets, messages and customers (rooms' flushes, the seed, an account move)
-- indexes exactly what it writes, in the same statement, with no extra round trip per row.
-- The row scheme is the one worker/search/search-index.ts describes: a message's FTS row has
-- rowid = messages.rowid, a ticket's own row rowid = -(tickets.rowid).
-- An upsert that hits ON CONFLICT DO NOTHING inserts nothing, so it fires no insert trigger.
-- Rows are replaced with DELETE + INSERT, not INSERT OR REPLACE: inside a trigger fired by an
-- upsert, the outer statement's conflict policy (ABORT) overrides the trigger's OR REPLACE.
CREATE TRIGGER `messages_fts_insert` AFTER INSERT ON `messages` BEGIN
  INSERT INTO `tickets_fts` (rowid, ticket_id, account_id, subject, body, customer_name, customer_email)
  VALUES (new.rowid, new.ticket_id, new.account_id, '', new.body, '', '');
END;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_delete` AFTER DELETE ON `messages` BEGIN
  DELETE FROM `tickets_fts` WHERE rowid = old.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `tickets_fts_insert` AFTER INSERT ON `tickets` BEGIN
  DELETE FROM `tickets_fts` WHERE rowid = -new.rowid;
  INSERT INTO `tickets_fts` (rowid, ticket_id, account_id, subject, body, customer_name, customer_email)
  SELECT -new.rowid, new.id, new.account_id, new.subject, '', coalesce(c.name, ''), coalesce(c.email, '')
  FROM (SELECT 1) LEFT JOIN `customers` c ON c.id = new.customer_id AND c.account_id = new.account_id;
END;
--> statement-breakpoint
-- Rooms upsert the whole ticket on every flush; only a new subject or customer changes its row.
CREATE TRIGGER `tickets_fts_update` AFTER UPDATE OF subject, customer_id ON `tickets`
WHEN old.subject IS NOT new.subject OR old.customer_id IS NOT new.customer_id BEGIN
  DELETE FROM `tickets_fts` WHERE rowid = -new.rowid;
  INSERT INTO `tickets_fts` (rowid, ticket_id, account_id, subject, body, customer_name, customer_email)
  SELECT -new.rowid, new.id, new.account_id, new.subject, '', coalesce(c.name, ''), coalesce(c.email, '')
  FROM (SELECT 1) LEFT JOIN `customers` c ON c.id = new.customer_id AND c.account_id = new.account_id;
END;
--> statement-breakpoint
CREATE TRIGGER `tickets_fts_delete` AFTER DELETE ON `tickets` BEGIN
  DELETE FROM `tickets_fts` WHERE rowid = -old.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `customers_fts_update` AFTER UPDATE OF name, email ON `customers`
WHEN old.name IS NOT new.name OR old.email IS NOT new.email BEGIN
  DELETE FROM `tickets_fts` WHERE rowid IN (SELECT -rowid FROM `tickets` WHERE customer_id = new.id AND account_id = new.account_id);
  INSERT INTO `tickets_fts` (rowid, ticket_id, account_id, subject, body, customer_name, customer_email)
  SELECT -t.rowid, t.id, t.account_id, t.subject, '', coalesce(new.name, ''), coalesce(new.email, '')
  FROM `tickets` t WHERE t.customer_id = new.id AND t.account_id = new.account_id;
END;
