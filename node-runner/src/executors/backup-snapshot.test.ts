// pickSnapshotName: a table over hand-made listings, no ZFS.
import { describe, expect, it } from 'vitest';
import type { DatasetInfo } from '../zfs/index.ts';
import { pickSnapshotName } from './backup-snapshot.ts';

const AT = new Date('2026-11-30T13:04:05.678Z');
const NAME = 'lb_j7_20261130T130405Z';
/** A dataset whose snapshots have these names (nothing else matters to the pick). */
const ds = (...names: string[]) => ({ snapshots: names.map((name) => ({ name })) }) as unknown as DatasetInfo;

describe('pickSnapshotName', () => {
  const cases: [string, DatasetInfo[][], string][] = [
    ['nothing taken: the job and the UTC second', [[], []], NAME],
    ['other names taken: no suffix', [[ds('lb_j7_20261130T130404Z', 'hand')], [ds('lb_j8_20261130T130405Z')]], NAME],
    ['taken on the source: _2', [[ds(NAME)], []], `${NAME}_2`],
    ['taken on the target only: _2', [[], [ds('x', NAME)]], `${NAME}_2`],
    ['taken with _2 as well, across sides: _3', [[ds(NAME)], [ds(`${NAME}_2`)]], `${NAME}_3`],
    ['a gap is not filled past a taken name: _2 is free', [[ds(NAME, `${NAME}_3`)], []], `${NAME}_2`],
  ];
  it.each(cases)('%s', (_what, listings, want) => {
    expect(pickSnapshotName(7, AT, listings)).toBe(want);
  });
});
