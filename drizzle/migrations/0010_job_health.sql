CREATE TABLE `event_counts` (
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`kind`, `status`)
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `rpo_seconds` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `rpo_effective_seconds` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_success_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_backup_status` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_backup_duration_ms` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_backup_bytes` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `failing_since` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `source_snapshot_count` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `target_snapshot_count` integer;--> statement-breakpoint
-- Finished events are counted, and a job's last backup summarised, by triggers: every path that
-- finishes an event (runner finish, lease sweep, cancel, node revocation) passes through them
-- (docs/database.md, "Triggers").
INSERT INTO `event_counts` (`kind`, `status`, `n`)
	SELECT `kind`, `status`, count(*) FROM `events` WHERE `status` IN ('success','failed','interrupted','cancelled') GROUP BY `kind`, `status`;
--> statement-breakpoint
CREATE TRIGGER `events_finish_count_update` AFTER UPDATE OF `status` ON `events`
WHEN NEW.`status` IN ('success','failed','interrupted','cancelled') AND OLD.`status` NOT IN ('success','failed','interrupted','cancelled')
BEGIN
	INSERT OR IGNORE INTO `event_counts` (`kind`, `status`, `n`) VALUES (NEW.`kind`, NEW.`status`, 0);
	UPDATE `event_counts` SET `n` = `n` + 1 WHERE `kind` = NEW.`kind` AND `status` = NEW.`status`;
END;
--> statement-breakpoint
CREATE TRIGGER `events_finish_count_insert` AFTER INSERT ON `events`
WHEN NEW.`status` IN ('success','failed','interrupted','cancelled')
BEGIN
	INSERT OR IGNORE INTO `event_counts` (`kind`, `status`, `n`) VALUES (NEW.`kind`, NEW.`status`, 0);
	UPDATE `event_counts` SET `n` = `n` + 1 WHERE `kind` = NEW.`kind` AND `status` = NEW.`status`;
END;
--> statement-breakpoint
CREATE TRIGGER `events_finish_job` AFTER UPDATE OF `status` ON `events`
WHEN NEW.`kind` = 'backup' AND NEW.`job_id` IS NOT NULL AND NEW.`started_at` IS NOT NULL
	AND NEW.`status` IN ('success','failed','interrupted','cancelled') AND OLD.`status` NOT IN ('success','failed','interrupted','cancelled')
BEGIN
	UPDATE `jobs` SET
		`last_backup_status` = NEW.`status`,
		`last_backup_duration_ms` = NEW.`finished_at` - NEW.`started_at`,
		`last_backup_bytes` = NEW.`bytes_done`,
		`last_success_at` = CASE WHEN NEW.`status` = 'success' THEN NEW.`finished_at` ELSE `last_success_at` END,
		`failing_since` = CASE
			WHEN NEW.`status` = 'success' THEN NULL
			WHEN NEW.`status` = 'cancelled' THEN `failing_since`
			ELSE coalesce(`failing_since`, NEW.`finished_at`) END
	WHERE `id` = NEW.`job_id`;
END;
--> statement-breakpoint
UPDATE `jobs` SET `last_success_at` = (
	SELECT max(e.`finished_at`) FROM `events` e WHERE e.`job_id` = `jobs`.`id` AND e.`kind` = 'backup' AND e.`status` = 'success'
);
