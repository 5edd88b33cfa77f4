ALTER TABLE `nodes` ADD `runner_version` text;--> statement-breakpoint
ALTER TABLE `nodes` ADD `pool_space` text;