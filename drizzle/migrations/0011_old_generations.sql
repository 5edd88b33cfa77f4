ALTER TABLE `generations` ADD `dropped_at` integer;--> statement-breakpoint
ALTER TABLE `generations` ADD `dropped_reason` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `keep_generations` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `keep_generation_days` integer;