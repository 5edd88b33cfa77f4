// A private copy of frontend/build for a test server (LIFEBOAT_UI_DIR): another engineer's
// `npm test` rebuilds frontend/build (new hashed file names) while a browser suite may be running.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BUILD = new URL('../../frontend/build', import.meta.url).pathname;

/** True when index.html and every /_app file it names are present (i.e. not in the middle of a build). */
function complete(dir: string): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return false;
  const refs = [...readFileSync(index, 'utf8').matchAll(/["(](\/_app\/[^"')]+)/g)].map((m) => m[1]);
  return refs.length > 0 && refs.every((r) => existsSync(join(dir, r)));
}

export async function copyUiBuild(ms = 90_000): Promise<{ dir: string; remove: () => void }> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (complete(BUILD)) {
      const dir = mkdtempSync(join(tmpdir(), 'lb-ui-build-'));
      cpSync(BUILD, dir, { recursive: true });
      if (complete(dir)) return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
      rmSync(dir, { recursive: true, force: true }); // copied while a build replaced it: again
    }
    if (Date.now() > deadline) throw new Error(`${BUILD} is missing or incomplete: run \`npm run build -w frontend\` (npm test builds it)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
