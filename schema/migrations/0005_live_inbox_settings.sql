CREATE TABLE `view_follows` (
	`account_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`view_id` text NOT NULL,
	PRIMARY KEY(`agent_id`, `view_id`),
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`view_id`) REFERENCES `views`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `view_follows_account_idx` ON `view_follows` (`account_id`);--> statement-breakpoint
ALTER TABLE `account_settings` ADD `unassign_chats_when_unavailable` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `agents` ADD `idle_away_minutes` integer DEFAULT 10 NOT NULL;