CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`shard_index` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `accounts_shard_idx` ON `accounts` (`shard_index`);--> statement-breakpoint
CREATE TABLE `agent_logins` (
	`email` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`agent_id` text NOT NULL,
	CONSTRAINT "agent_logins_email_lowercase" CHECK("agent_logins"."email" = lower("agent_logins"."email"))
);
--> statement-breakpoint
CREATE INDEX `agent_logins_account_idx` ON `agent_logins` (`account_id`);--> statement-breakpoint
CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`role` text DEFAULT 'agent' NOT NULL,
	`password_hash` text NOT NULL,
	`availability` text DEFAULT 'available' NOT NULL,
	`chat_capacity` integer DEFAULT 3 NOT NULL,
	`ticket_capacity` integer DEFAULT 5 NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "agents_email_lowercase" CHECK("agents"."email" = lower("agents"."email"))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agents_account_email_uq` ON `agents` (`account_id`,`email`);--> statement-breakpoint
CREATE TABLE `ai_settings` (
	`account_id` text PRIMARY KEY NOT NULL,
	`enabled` integer DEFAULT false NOT NULL,
	`resolution_window_hours` integer DEFAULT 72 NOT NULL,
	`handover_topics` text NOT NULL,
	`tone` text DEFAULT 'friendly' NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `billable_interactions` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`ticket_id` text NOT NULL,
	`reason` text NOT NULL,
	`resolved_at` integer NOT NULL,
	`reversed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `billable_interactions_account_ticket_uq` ON `billable_interactions` (`account_id`,`ticket_id`);--> statement-breakpoint
CREATE INDEX `billable_interactions_account_resolved_idx` ON `billable_interactions` (`account_id`,`resolved_at`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`email` text,
	`name` text,
	`phone` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `customers_account_email_idx` ON `customers` (`account_id`,`email`);--> statement-breakpoint
CREATE INDEX `customers_account_phone_idx` ON `customers` (`account_id`,`phone`);--> statement-breakpoint
CREATE TABLE `guidance` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE INDEX `guidance_account_idx` ON `guidance` (`account_id`);--> statement-breakpoint
CREATE TABLE `help_articles` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`locale` text DEFAULT 'en' NOT NULL,
	`published` integer DEFAULT false NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `help_articles_account_locale_idx` ON `help_articles` (`account_id`,`locale`);--> statement-breakpoint
CREATE TABLE `macros` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`actions` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `macros_account_idx` ON `macros` (`account_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`ticket_id` text NOT NULL,
	`author_kind` text NOT NULL,
	`author_id` text,
	`body` text NOT NULL,
	`is_internal_note` integer DEFAULT false NOT NULL,
	`channel` text NOT NULL,
	`external_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `messages_ticket_created_idx` ON `messages` (`ticket_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_account_external_idx` ON `messages` (`account_id`,`external_id`);--> statement-breakpoint
CREATE TABLE `orders` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`number` text NOT NULL,
	`status` text NOT NULL,
	`total_cents` integer NOT NULL,
	`currency` text DEFAULT 'USD' NOT NULL,
	`items` text NOT NULL,
	`created_at` integer NOT NULL,
	`shipped_at` integer,
	`tracking_url` text,
	FOREIGN KEY (`customer_id`) REFERENCES `customers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `orders_account_number_uq` ON `orders` (`account_id`,`number`);--> statement-breakpoint
CREATE INDEX `orders_account_customer_idx` ON `orders` (`account_id`,`customer_id`);--> statement-breakpoint
CREATE TABLE `rules` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`event` text NOT NULL,
	`conditions` text NOT NULL,
	`actions` text NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`enabled` integer DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rules_account_event_idx` ON `rules` (`account_id`,`event`,`position`);--> statement-breakpoint
CREATE TABLE `tags` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`color` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tags_account_name_uq` ON `tags` (`account_id`,`name`);--> statement-breakpoint
CREATE TABLE `team_members` (
	`account_id` text NOT NULL,
	`team_id` text NOT NULL,
	`agent_id` text NOT NULL,
	PRIMARY KEY(`team_id`, `agent_id`),
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `team_members_agent_idx` ON `team_members` (`agent_id`);--> statement-breakpoint
CREATE INDEX `team_members_account_idx` ON `team_members` (`account_id`);--> statement-breakpoint
CREATE TABLE `teams` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `teams_account_name_uq` ON `teams` (`account_id`,`name`);--> statement-breakpoint
CREATE TABLE `ticket_tags` (
	`account_id` text NOT NULL,
	`ticket_id` text NOT NULL,
	`tag_id` text NOT NULL,
	PRIMARY KEY(`ticket_id`, `tag_id`),
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tag_id`) REFERENCES `tags`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ticket_tags_account_tag_idx` ON `ticket_tags` (`account_id`,`tag_id`);--> statement-breakpoint
CREATE TABLE `tickets` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`channel` text NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`priority` text DEFAULT 'normal' NOT NULL,
	`assignee_id` text,
	`team_id` text,
	`version` integer DEFAULT 1 NOT NULL,
	`snoozed_until` integer,
	`ai_state` text DEFAULT 'none' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`first_response_at` integer,
	`closed_at` integer,
	`last_message_at` integer,
	FOREIGN KEY (`customer_id`) REFERENCES `customers`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`assignee_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `tickets_account_status_updated_idx` ON `tickets` (`account_id`,`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `tickets_account_assignee_status_idx` ON `tickets` (`account_id`,`assignee_id`,`status`);--> statement-breakpoint
CREATE INDEX `tickets_account_team_status_idx` ON `tickets` (`account_id`,`team_id`,`status`);--> statement-breakpoint
CREATE INDEX `tickets_account_customer_idx` ON `tickets` (`account_id`,`customer_id`);--> statement-breakpoint
CREATE TABLE `views` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`filter` text NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`owner_agent_id` text,
	FOREIGN KEY (`owner_agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `views_account_position_idx` ON `views` (`account_id`,`position`);