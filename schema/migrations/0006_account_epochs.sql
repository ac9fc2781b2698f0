CREATE TABLE `account_epochs` (
	`account_id` text PRIMARY KEY NOT NULL,
	`epoch` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `write_epoch` integer DEFAULT 0 NOT NULL;