ALTER TABLE `targets` ADD `pending_host_key` text;--> statement-breakpoint
ALTER TABLE `targets` ADD `pending_host_key_fingerprint` text;--> statement-breakpoint
ALTER TABLE `targets` ADD `expected_host_key_fingerprint` text;--> statement-breakpoint
ALTER TABLE `targets` ADD `ssh_public_key` text;