// Shared state for the stand-in FreeBSD commands (jls, jail, service, vm) used by the Linux tests.
// State lives under $LIFEBOAT_STANDIN_STATE (required) so every test has its own:
//   jails/<name>.json   a running jail { jid, name, path, hostname, ip4, ip6 }
//   next-jid            the next JID to hand out
//   vm/<name>.pid       a running VM (its fake bhyve pid)
//   fail-*, ignore-*    fault switches set by tests (see each command)
import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function stateDir() {
  const d = process.env.LIFEBOAT_STANDIN_STATE;
  if (!d) { process.stderr.write('stand-in: LIFEBOAT_STANDIN_STATE is not set\n'); process.exit(70); }
  mkdirSync(join(d, 'jails'), { recursive: true });
  mkdirSync(join(d, 'vm'), { recursive: true });
  return d;
}
export const flag = (name) => existsSync(join(stateDir(), name));

export function runningJails() {
  const dir = join(stateDir(), 'jails');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))).sort((a, b) => a.jid - b.jid);
}
export function addJail(j) { writeFileSync(join(stateDir(), 'jails', `${j.name}.json`), JSON.stringify(j)); }
export function removeJail(name) { try { unlinkSync(join(stateDir(), 'jails', `${name}.json`)); } catch { /* not there */ } }
export function nextId(file, start) {
  const p = join(stateDir(), file);
  const n = existsSync(p) ? Number(readFileSync(p, 'utf8')) : start;
  writeFileSync(p, String(n + 1));
  return n;
}

/**
 * Just enough jail.conf for the stand-ins: blocks `name { key = value; key += value; flag; }`,
 * global parameters, comments, quoted values, `$name`/`${name}`. Returns { name → { key → [values] } }.
 */
export function readJailConf(file) {
  if (!existsSync(file)) return {};
  let s = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^"'\\])(#|\/\/).*$/gm, '$1');
  const globals = {};
  const jails = {};
  const stmts = (body, into) => {
    for (const m of body.matchAll(/([A-Za-z0-9_.$]+)\s*(\+?=)?\s*((?:"[^"]*"|'[^']*'|[^;])*)\s*;/g)) {
      const vals = m[2] ? m[3].split(',').map((v) => v.trim().replace(/^"(.*)"$|^'(.*)'$/, '$1$2')) : ['true'];
      into[m[1]] = m[2] === '+=' ? [...(into[m[1]] ?? []), ...vals] : vals;
    }
  };
  s = s.replace(/("?)([A-Za-z0-9_*.-]+)\1\s*\{([^}]*)\}/g, (_, _q, name, body) => { stmts(body, (jails[name] = {})); return ''; });
  stmts(s, globals);
  const out = {};
  for (const [name, p] of Object.entries(jails)) {
    if (name.includes('*')) continue;
    const all = { ...globals, ...p };
    for (const [k, v] of Object.entries(all)) all[k] = v.map((x) => x.replace(/\$\{?name\}?/g, name));
    out[name] = all;
  }
  return out;
}

/** sysrc-style `key="value"` file. */
export function readConf(file) {
  const m = {};
  if (!existsSync(file)) return m;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#') || !t.includes('=')) continue;
    const k = t.slice(0, t.indexOf('='));
    m[k] = t.slice(t.indexOf('=') + 1).replace(/^"(.*)"$/, '$1');
  }
  return m;
}
