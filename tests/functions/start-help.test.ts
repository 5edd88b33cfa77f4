// `npm start -- --help` names every LIFEBOAT_* variable the server and the runner read.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('npm start -- --help', () => {
  it('lists every environment variable the code reads, and exits 0 without starting anything', () => {
    const help = execFileSync(process.execPath, [join(ROOT, 'scripts/start.mjs'), '--help'], { encoding: 'utf8' });
    const read = new Set<string>();
    for (const f of [...sources(join(ROOT, 'functions/src')), ...sources(join(ROOT, 'node-runner/src'))]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:env\.|['"`])(LIFEBOAT_[A-Z_]+[A-Z])\b/g)) read.add(m[1]);
    }
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((v) => !help.includes(v)).sort()).toEqual([]);
  });
});
