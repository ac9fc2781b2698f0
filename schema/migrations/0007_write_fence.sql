-- Custom SQL migration file, put your code below! --
-- The write fence (schema/write-fence.ts). Every write batch of an account starts with
--   INSERT INTO write_fence (account_id, epoch) VALUES (?, ?)
-- carrying the epoch of the placement the writer looked up. SQLite has RAISE() only inside
-- triggers, so the fence is a view with an INSTEAD OF trigger: it stores nothing, and when
-- this shard's epoch for the account (account_epochs, no row = 0) is not the writer's, it
-- aborts the statement with the message WRITE_FENCED, which fails and rolls back the whole
-- batch (a batch is one transaction).
CREATE VIEW `write_fence` AS SELECT NULL AS `account_id`, NULL AS `epoch` WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `write_fence_check` INSTEAD OF INSERT ON `write_fence`
WHEN coalesce((SELECT `epoch` FROM `account_epochs` WHERE `account_id` = new.`account_id`), 0) IS NOT new.`epoch`
BEGIN
  SELECT RAISE(ABORT, 'WRITE_FENCED');
END;
