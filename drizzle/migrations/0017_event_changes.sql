CREATE TABLE `event_changes` (
	`id` integer PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `events` ADD `change_seq` integer;--> statement-breakpoint
CREATE INDEX `events_change_idx` ON `events` (`change_seq`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_backup_event_id` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_backup_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_restore_event_id` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_restore_status` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_restore_at` integer;--> statement-breakpoint
-- Hand-written below (docs/database.md, "Triggers"): every visible change of an event row (its
-- insert; status, phase, progress, cancel, note, error, start, end; not the lease or the log size)
-- takes the next change number, kept in one row, so GET /events/stream reads one row to learn
-- whether anything changed and the changed rows through events_change_idx. The row's own
-- change_seq is not in the UPDATE OF list: the trigger's write does not fire it again.
INSERT INTO `event_changes` (`id`, `seq`) VALUES (1, 0);
--> statement-breakpoint
CREATE TRIGGER `events_change_insert` AFTER INSERT ON `events`
BEGIN
	UPDATE `event_changes` SET `seq` = `seq` + 1 WHERE `id` = 1;
	UPDATE `events` SET `change_seq` = (SELECT `seq` FROM `event_changes` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `events_change_update` AFTER UPDATE OF
	`status`, `phase`, `bytes_done`, `bytes_total`, `rate_bps`, `eta_seconds`, `cancel_requested`, `note`, `error`, `started_at`, `finished_at`
	ON `events`
BEGIN
	UPDATE `event_changes` SET `seq` = `seq` + 1 WHERE `id` = 1;
	UPDATE `events` SET `change_seq` = (SELECT `seq` FROM `event_changes` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
-- The job summary trigger of 0013, now also naming the backup's event and when it ended (the
-- Jobs page links its Last-run badge to it).
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
		`last_backup_event_id` = NEW.`id`,
		`last_backup_at` = NEW.`finished_at`,
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
-- A job's last restore that began, apart from its last backup: a restore is not the job's last run.
CREATE TRIGGER `events_finish_restore` AFTER UPDATE OF `status` ON `events`
WHEN NEW.`kind` = 'restore' AND NEW.`job_id` IS NOT NULL AND NEW.`started_at` IS NOT NULL
	AND NEW.`status` IN ('success','failed','interrupted','cancelled') AND OLD.`status` NOT IN ('success','failed','interrupted','cancelled')
BEGIN
	UPDATE `jobs` SET
		`last_restore_event_id` = NEW.`id`,
		`last_restore_status` = NEW.`status`,
		`last_restore_at` = NEW.`finished_at`
	WHERE `id` = NEW.`job_id`;
END;
--> statement-breakpoint
UPDATE `jobs` SET
	`last_backup_event_id` = (SELECT e.`id` FROM `events` e WHERE e.`job_id` = `jobs`.`id` AND e.`kind` = 'backup' AND e.`started_at` IS NOT NULL
		AND e.`status` IN ('success','failed','interrupted','cancelled') ORDER BY e.`id` DESC LIMIT 1),
	`last_restore_event_id` = (SELECT e.`id` FROM `events` e WHERE e.`job_id` = `jobs`.`id` AND e.`kind` = 'restore' AND e.`started_at` IS NOT NULL
		AND e.`status` IN ('success','failed','interrupted','cancelled') ORDER BY e.`id` DESC LIMIT 1);
--> statement-breakpoint
UPDATE `jobs` SET
	`last_backup_at` = (SELECT e.`finished_at` FROM `events` e WHERE e.`id` = `jobs`.`last_backup_event_id`),
	`last_restore_status` = (SELECT e.`status` FROM `events` e WHERE e.`id` = `jobs`.`last_restore_event_id`),
	`last_restore_at` = (SELECT e.`finished_at` FROM `events` e WHERE e.`id` = `jobs`.`last_restore_event_id`);
