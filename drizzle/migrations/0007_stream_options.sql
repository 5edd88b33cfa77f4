ALTER TABLE `jobs` ADD `compressed_stream` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `bandwidth_limit_kibps` integer;--> statement-breakpoint
ALTER TABLE `targets` ADD `bandwidth_limit_kibps` integer;