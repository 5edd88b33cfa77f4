import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIRST_PATH } from './overview-path';

describe('the Overview first read', () => {
  it('app.html sends the very request $lib/overview takes its answer for', () => {
    const html = readFileSync(new URL('../app.html', import.meta.url), 'utf8');
    const sent = [...html.matchAll(/fetch\('([^']+)'/g)].map((m) => m[1]);
    expect(sent).toEqual([`/api/v1${FIRST_PATH}`]);
  });
});
