// The README's Prometheus alert rules, checked by Prometheus's own promtool against series named and
// labelled like the server's metrics: they load, and they fire (and only) when they should.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startControl, joinNode, makeTarget } from '../helpers/control.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const rules = /```yaml\n(groups:[\s\S]*?)```/.exec(readme)?.[1];

describe('README alert rules', () => {
  it('are in the README and name only metrics the server serves', async () => {
    expect(rules).toBeDefined();
    const ctl = await startControl();
    try {
      const node = await joinNode(ctl, 'n1');
      const targetId = (await makeTarget(ctl)).id;
      await ctl.api('POST', '/jobs', { name: 'a', targetId, mode: 'dataset', source: 'tank/data', schedule: '0 * * * *' });
      const run1 = await ctl.api('POST', '/jobs/1/run');
      await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
      await ctl.node(node.token, `/runner/events/${run1.body.eventId}/finish`, {
        status: 'success',
        result: { snapshot: 'x', generation: 1 },
      });
      const text = await (await ctl.app.request('/api/v1/metrics', { headers: { authorization: 'Bearer lba_test_admin_token' } })).text();
      const served = new Set(
        text
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => /^[a-z_]+/.exec(l)![0]),
      );
      const used = new Set(rules!.match(/lifeboat_[a-z_]+/g));
      for (const m of used) expect(served, m).toContain(m);
    } finally {
      ctl.close();
    }
  });

  it('load in promtool and fire when a backup is overdue or failing, or a runner is silent', async () => {
    writeFileSync(join(dir, 'rules.yml'), rules!);
    const labels = (job: string) => `job="${job}",node="n1",target="t1"`;
    writeFileSync(
      join(dir, 'test.yml'),
      `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # job a: last success 100 s ago at the start, RPO 600 s: overdue from minute 9
      - series: 'lifeboat_job_rpo_seconds{${labels('a')}}'
        values: '100+60x20'
      - series: 'lifeboat_job_rpo_limit_seconds{${labels('a')}}'
        values: '600x20'
      - series: 'lifeboat_job_health{${labels('a')},state="ok"}'
        values: '1x20'
      # job b: failing; job c: fine all along
      - series: 'lifeboat_job_health{${labels('b')},state="failing"}'
        values: '1x20'
      - series: 'lifeboat_job_rpo_seconds{${labels('c')}}'
        values: '60x20'
      - series: 'lifeboat_job_rpo_limit_seconds{${labels('c')}}'
        values: '7200x20'
      - series: 'lifeboat_job_health{${labels('c')},state="ok"}'
        values: '1x20'
      # n1 silent since the epoch; n2 seen just now at every step
      - series: 'lifeboat_runner_last_seen_timestamp_seconds{node="n1"}'
        values: '0x20'
      - series: 'lifeboat_runner_last_seen_timestamp_seconds{node="n2"}'
        values: '0+60x20'
    alert_rule_test:
      - eval_time: 3m
        alertname: LifeboatBackupOverdue
        exp_alerts: []
      - eval_time: 15m
        alertname: LifeboatBackupOverdue
        exp_alerts:
          - exp_labels: {job: a, node: n1, target: t1}
            exp_annotations: {summary: "Lifeboat job a on n1 has no recent good backup"}
          - exp_labels: {job: b, node: n1, target: t1, state: failing}
            exp_annotations: {summary: "Lifeboat job b on n1 has no recent good backup"}
      - eval_time: 15m
        alertname: LifeboatNodeSilent
        exp_alerts:
          - exp_labels: {node: n1}
            exp_annotations: {summary: "Lifeboat runner on n1 is silent"}
`,
    );
    const check = await run('promtool', ['check', 'rules', 'rules.yml'], { cwd: dir });
    expect(check.stdout).toMatch(/SUCCESS: 2 rules found/);
    const test = await run('promtool', ['test', 'rules', 'test.yml'], { cwd: dir }).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${test.stdout}${test.stderr}`).toMatch(/SUCCESS/);
    expect(`${test.stdout}${test.stderr}`).not.toMatch(/FAILED/);
  });
});
