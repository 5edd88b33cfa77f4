CREATE TABLE `catalog_datasets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`target_id` integer NOT NULL,
	`dataset` text NOT NULL,
	`job_id` integer,
	`generation` integer,
	`source` text,
	`guest` text,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`target_id`) REFERENCES `targets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalog_datasets_uq` ON `catalog_datasets` (`target_id`,`dataset`);--> statement-breakpoint
CREATE INDEX `catalog_datasets_job_idx` ON `catalog_datasets` (`job_id`,`generation`);--> statement-breakpoint
CREATE TABLE `catalog_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`target_id` integer NOT NULL,
	`dataset` text NOT NULL,
	`name` text NOT NULL,
	`guid` text NOT NULL,
	`createtxg` text,
	`job_id` integer,
	`generation` integer,
	`created_at` integer NOT NULL,
	`used_bytes` integer DEFAULT 0 NOT NULL,
	`referenced_bytes` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`target_id`) REFERENCES `targets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalog_snapshots_uq` ON `catalog_snapshots` (`target_id`,`dataset`,`name`);--> statement-breakpoint
CREATE INDEX `catalog_snapshots_job_idx` ON `catalog_snapshots` (`job_id`,`generation`);--> statement-breakpoint
CREATE TABLE `event_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`ts` integer NOT NULL,
	`level` text DEFAULT 'info' NOT NULL,
	`message` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_logs_event_idx` ON `event_logs` (`event_id`,`id`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`job_id` integer,
	`job_name` text,
	`node_id` integer NOT NULL,
	`target_id` integer,
	`trigger` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`phase` text,
	`source` text,
	`destination` text,
	`generation` integer,
	`snapshot` text,
	`bytes_done` integer DEFAULT 0 NOT NULL,
	`bytes_total` integer,
	`rate_bps` integer,
	`eta_seconds` integer,
	`note` text,
	`error` text,
	`error_class` text,
	`params` text,
	`result` text,
	`idempotency_key` text,
	`cancel_requested` integer DEFAULT false NOT NULL,
	`lease_until` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`started_at` integer,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_one_active_per_job_uq` ON `events` (`job_id`) WHERE status IN ('queued','running') AND kind IN ('backup','restore');--> statement-breakpoint
CREATE UNIQUE INDEX `events_idempotency_uq` ON `events` (`idempotency_key`) WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_job_idx` ON `events` (`job_id`,`id`);--> statement-breakpoint
CREATE INDEX `events_node_status_idx` ON `events` (`node_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `events_status_lease_idx` ON `events` (`status`,`lease_until`);--> statement-breakpoint
CREATE INDEX `events_kind_idx` ON `events` (`kind`,`id`);--> statement-breakpoint
CREATE INDEX `events_target_idx` ON `events` (`target_id`,`id`);--> statement-breakpoint
CREATE TABLE `generations` (
	`job_id` integer NOT NULL,
	`generation` integer NOT NULL,
	`reason` text,
	`base_guid` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`job_id`, `generation`)
);
--> statement-breakpoint
CREATE TABLE `guests` (
	`node_id` integer NOT NULL,
	`kind` text NOT NULL,
	`guest_id` text NOT NULL,
	`name` text NOT NULL,
	`roots` text NOT NULL,
	`network` text,
	`running` integer DEFAULT false NOT NULL,
	`provider` text NOT NULL,
	PRIMARY KEY(`node_id`, `kind`, `guest_id`),
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`target_id` integer NOT NULL,
	`node_id` integer NOT NULL,
	`mode` text NOT NULL,
	`source` text NOT NULL,
	`schedule` text DEFAULT '' NOT NULL,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`keep_last` integer DEFAULT 0 NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`prune_target` integer DEFAULT false NOT NULL,
	`stop_before_backup` integer DEFAULT false NOT NULL,
	`recursive` integer DEFAULT false NOT NULL,
	`next_run_at` integer,
	`last_run_at` integer,
	`last_status` text,
	`current_generation` integer DEFAULT 1 NOT NULL,
	`fork_from_generation` integer,
	`fork_from_guid` text,
	`webhook_token_hash` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`target_id`) REFERENCES `targets`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_name_uq` ON `jobs` (`name`);--> statement-breakpoint
CREATE INDEX `jobs_due_idx` ON `jobs` (`node_id`,`next_run_at`);--> statement-breakpoint
CREATE INDEX `jobs_target_idx` ON `jobs` (`target_id`);--> statement-breakpoint
CREATE TABLE `join_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`token_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`node_id` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `join_tokens_hash_uq` ON `join_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `node_datasets` (
	`node_id` integer NOT NULL,
	`name` text NOT NULL,
	`used_bytes` integer,
	`referenced_bytes` integer,
	`mountpoint` text,
	PRIMARY KEY(`node_id`, `name`),
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `nodes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`hostname` text,
	`zfs_version` text,
	`capabilities` text,
	`pools` text,
	`inventory_at` integer,
	`last_seen_at` integer,
	`revoked_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_name_uq` ON `nodes` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_token_uq` ON `nodes` (`token_hash`);--> statement-breakpoint
CREATE TABLE `target_node_status` (
	`target_id` integer NOT NULL,
	`node_id` integer NOT NULL,
	`state` text NOT NULL,
	`error` text,
	`config_revision` integer NOT NULL,
	`validated_at` integer NOT NULL,
	PRIMARY KEY(`target_id`, `node_id`),
	FOREIGN KEY (`target_id`) REFERENCES `targets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `targets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`ssh_host` text NOT NULL,
	`ssh_user` text DEFAULT 'root' NOT NULL,
	`ssh_port` integer DEFAULT 22 NOT NULL,
	`ssh_private_key_enc` text NOT NULL,
	`backup_root` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`create_backup_root` integer DEFAULT false NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`config_revision` integer DEFAULT 1 NOT NULL,
	`host_key` text,
	`host_key_fingerprint` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `targets_name_uq` ON `targets` (`name`);