CREATE TABLE `event_totals` (
	`id` integer PRIMARY KEY NOT NULL,
	`rows` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `housekeeping` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `events_status_lease_idx`;--> statement-breakpoint
CREATE INDEX `events_node_idx` ON `events` (`node_id`,`id`);--> statement-breakpoint
CREATE INDEX `events_status_idx` ON `events` (`status`,`id`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `backups_succeeded` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `backups_failed` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_next_run_idx` ON `jobs` (`next_run_at`);--> statement-breakpoint
-- Hand-written below (docs/database.md, "Triggers"): the row count of events, kept by triggers so
-- that retention's global cap costs one read; and the job summary trigger of 0010, now also
-- counting each job's finished backups (the history beyond what event retention keeps).
INSERT INTO `event_totals` (`id`, `rows`) SELECT 1, count(*) FROM `events`;
--> statement-breakpoint
CREATE TRIGGER `events_total_insert` AFTER INSERT ON `events`
BEGIN
	UPDATE `event_totals` SET `rows` = `rows` + 1 WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `events_total_delete` AFTER DELETE ON `events`
BEGIN
	UPDATE `event_totals` SET `rows` = `rows` - 1 WHERE `id` = 1;
END;
--> statement-breakpoint
DROP TRIGGER `events_finish_job`;
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
			ELSE coalesce(`failing_since`, NEW.`finished_at`) END,
		`backups_succeeded` = `backups_succeeded` + (NEW.`status` = 'success'),
		`backups_failed` = `backups_failed` + (NEW.`status` IN ('failed','interrupted'))
	WHERE `id` = NEW.`job_id`;
END;
--> statement-breakpoint
UPDATE `jobs` SET
	`backups_succeeded` = (SELECT count(*) FROM `events` e WHERE e.`job_id` = `jobs`.`id` AND e.`kind` = 'backup' AND e.`status` = 'success'),
	`backups_failed` = (SELECT count(*) FROM `events` e WHERE e.`job_id` = `jobs`.`id` AND e.`kind` = 'backup' AND e.`status` IN ('failed','interrupted'));
