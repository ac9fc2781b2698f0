CREATE TABLE `account_settings` (
	`account_id` text PRIMARY KEY NOT NULL,
	`webhook_secret` text NOT NULL,
	`time_zone` text DEFAULT 'UTC' NOT NULL,
	`business_hours` text NOT NULL,
	`support_email` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `auto_reply_log` (
	`account_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`last_sent_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `customer_id`)
);
--> statement-breakpoint
CREATE TABLE `outbound_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`ticket_id` text NOT NULL,
	`message_id` text NOT NULL,
	`channel` text NOT NULL,
	`to_address` text NOT NULL,
	`subject` text,
	`body` text NOT NULL,
	`provider` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbound_deliveries_message_uq` ON `outbound_deliveries` (`message_id`);--> statement-breakpoint
CREATE INDEX `outbound_deliveries_account_created_idx` ON `outbound_deliveries` (`account_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `moving_to_shard` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `seq` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_ticket_seq_idx` ON `messages` (`ticket_id`,`seq`);