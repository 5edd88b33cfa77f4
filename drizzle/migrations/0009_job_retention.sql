CREATE TABLE `source_snapshots` (
	`job_id` integer NOT NULL,
	`dataset` text NOT NULL,
	`name` text NOT NULL,
	`guid` text NOT NULL,
	`createtxg` text NOT NULL,
	`created_at` integer NOT NULL,
	`snapshot_job_id` integer,
	`generation` integer,
	`userrefs` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`job_id`, `dataset`, `name`),
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `source_retention` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `target_retention` text;