CREATE TABLE `kept_datasets` (
	`node_id` integer NOT NULL,
	`dataset` text NOT NULL,
	`restore_event_id` integer NOT NULL,
	`guids` text NOT NULL,
	`chosen` integer NOT NULL,
	`kept_at` integer NOT NULL,
	PRIMARY KEY(`node_id`, `dataset`),
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
