// jail.conf(5) reader/writer (FreeBSD 13/14): comments (#, //, /* */), `param = value;`,
// `param += value;`, `param;`, `a = x, y;` lists, quoted strings ("…" expands variables, '…' does
// not), `$var = …;` variables and `$var`/`${var}` references (`$name` is the jail's name), global
// parameters, `*`/`prefix*` wildcard blocks, `.include "file";` (globs not expanded). The writer
// (formatJailBlock) is shared with the control plane's restore preview: protocol/src/guest-config.ts.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { JailParamValue } from '../../../protocol/src/guest-config.ts';

export type { JailParamValue };
export interface JailDef {
  name: string;
  /** Parameters and `$variables`, after applying globals and wildcards, variables expanded. */
  params: Map<string, JailParamValue>;
  /** File that defines the jail's own block. */
  file: string;
}

interface Stmt {
  key: string;
  op: '=' | '+=' | 'flag';
  values: { text: string; expand: boolean }[];
}
interface Block {
  name: string;
  stmts: Stmt[];
  file: string;
}

class Lexer {
  i = 0;
  constructor(
    private s: string,
    private file: string,
  ) {}
  err(msg: string): Error {
    const line = this.s.slice(0, this.i).split('\n').length;
    return new Error(`${this.file}:${line}: ${msg}`);
  }
  skip(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) return;
      if (/\s/.test(c)) {
        this.i++;
        continue;
      }
      if (c === '#' || (c === '/' && this.s[this.i + 1] === '/')) {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
        continue;
      }
      if (c === '/' && this.s[this.i + 1] === '*') {
        const e = this.s.indexOf('*/', this.i + 2);
        if (e < 0) throw this.err('unterminated comment');
        this.i = e + 2;
        continue;
      }
      return;
    }
  }
  peek(): string | undefined {
    this.skip();
    return this.s[this.i];
  }
  /** A word or quoted string; adjacent pieces join ("a"b → ab). */
  value(): { text: string; expand: boolean } | null {
    this.skip();
    let text = '';
    let expand = true;
    let any = false;
    for (;;) {
      const c = this.s[this.i];
      if (c === '"' || c === "'") {
        any = true;
        if (c === "'") expand = false;
        this.i++;
        for (;;) {
          const d = this.s[this.i];
          if (d === undefined) throw this.err('unterminated string');
          if (d === c) {
            this.i++;
            break;
          }
          if (d === '\\' && c === '"') {
            const n = this.s[this.i + 1];
            this.i += 2;
            text += n === 'n' ? '\n' : n === 't' ? '\t' : n === '\n' ? '' : n === '$' ? '\u0000$' : n;
            continue;
          }
          if (d === '$' && c === "'") {
            text += '\u0000$';
            this.i++;
            continue;
          } // literal $
          text += d;
          this.i++;
        }
        continue;
      }
      if (c === '$' && this.s[this.i + 1] === '{') {
        const e = this.s.indexOf('}', this.i);
        if (e < 0) throw this.err('unterminated ${');
        text += this.s.slice(this.i, e + 1);
        this.i = e + 1;
        any = true;
        continue;
      }
      if (c === undefined || /[\s{};,=]/.test(c) || (c === '+' && this.s[this.i + 1] === '=') || c === '#') break;
      if (c === '/' && (this.s[this.i + 1] === '/' || this.s[this.i + 1] === '*')) break;
      text += c;
      this.i++;
      any = true;
    }
    return any ? { text, expand } : null;
  }
  expect(ch: string): void {
    if (this.peek() !== ch) throw this.err(`expected "${ch}"`);
    this.i++;
  }
}

function parseInto(text: string, file: string, globals: Stmt[], blocks: Block[], depth: number): void {
  const lx = new Lexer(text, file);
  const stmtList = (inBlock: boolean, into: Stmt[]): void => {
    for (;;) {
      const c = lx.peek();
      if (c === undefined) {
        if (inBlock) throw lx.err('missing "}"');
        return;
      }
      if (c === '}') {
        if (!inBlock) throw lx.err('unexpected "}"');
        lx.i++;
        return;
      }
      if (c === ';') {
        lx.i++;
        continue;
      }
      const key = lx.value();
      if (!key) throw lx.err(`unexpected "${c}"`);
      if (key.text === '.include') {
        const f = lx.value();
        if (!f) throw lx.err('.include needs a file name');
        lx.expect(';');
        const path = resolve(dirname(file), f.text);
        if (depth > 10) throw lx.err('.include nested too deeply');
        if (existsSync(path)) parseInto(readFileSync(path, 'utf8'), path, globals, blocks, depth + 1);
        continue;
      }
      const n = lx.peek();
      if (n === '{') {
        if (inBlock) throw lx.err('nested jail blocks are not supported');
        lx.i++;
        const b: Block = { name: key.text, stmts: [], file };
        stmtList(true, b.stmts);
        blocks.push(b);
        continue;
      }
      if (n === ';') {
        lx.i++;
        into.push({ key: key.text, op: 'flag', values: [] });
        continue;
      }
      let op: '=' | '+=';
      if (n === '=') {
        op = '=';
        lx.i++;
      } else if (n === '+' && text[lx.i + 1] === '=') {
        op = '+=';
        lx.i += 2;
      } else throw lx.err(`expected "=", "+=" or ";" after ${key.text}`);
      const values: Stmt['values'] = [];
      for (;;) {
        const v = lx.value();
        values.push(v ?? { text: '', expand: true });
        const d = lx.peek();
        if (d === ',') {
          lx.i++;
          continue;
        }
        if (d === ';') {
          lx.i++;
          break;
        }
        throw lx.err(`expected ";" after the value of ${key.text}`);
      }
      into.push({ key: key.text, op, values });
    }
  };
  stmtList(false, globals);
}

function wildcardMatch(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return false;
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return re.test(name);
}

function apply(params: Map<string, JailParamValue>, s: Stmt): void {
  if (s.op === 'flag') {
    if (s.key.startsWith('no') && !s.key.includes('.') && s.key.length > 2) {
      params.set(s.key.slice(2), ['false']);
      return;
    }
    params.set(s.key, true);
    return;
  }
  const vals = s.values.map((v) => (v.expand ? v.text : v.text));
  if (s.op === '+=') {
    const prev = params.get(s.key);
    params.set(s.key, [...(Array.isArray(prev) ? prev : []), ...vals]);
  } else {
    params.set(s.key, vals);
  }
}

function expandVars(value: string, lookup: (v: string) => string | undefined): string {
  return value.replace(/\u0000\$|\$\{([^}]+)\}|\$([A-Za-z_][A-Za-z0-9_.]*)/g, (m, a, b) => {
    if (m === '\u0000$') return '$';
    const v = lookup(a ?? b);
    return v ?? '';
  });
}

/** Parse jail.conf text (and its includes) into jail definitions (wildcard blocks are not jails). */
export function parseJailConf(text: string, file: string): JailDef[] {
  const globals: Stmt[] = [];
  const blocks: Block[] = [];
  parseInto(text, file, globals, blocks, 0);
  const out: JailDef[] = [];
  for (const b of blocks) {
    if (b.name.includes('*')) continue;
    const params = new Map<string, JailParamValue>();
    for (const s of globals) apply(params, s);
    for (const w of blocks) if (w !== b && wildcardMatch(w.name, b.name)) for (const s of w.stmts) apply(params, s);
    for (const s of b.stmts) apply(params, s);
    params.set('name', [b.name]);
    const raw = new Map(params);
    const lookup = (v: string, depth = 0): string | undefined => {
      const p = raw.get(`$${v}`) ?? raw.get(v);
      if (p === undefined) return undefined;
      if (p === true) return 'true';
      return depth > 10 ? p.join(',') : p.map((x) => expandVars(x, (w) => lookup(w, depth + 1))).join(',');
    };
    for (const [k, v] of raw)
      if (v !== true)
        params.set(
          k,
          v.map((x) => expandVars(x, (w) => lookup(w))),
        );
    out.push({ name: b.name, params, file: b.file });
  }
  return out;
}

export function readJailConfFile(path: string): JailDef[] {
  if (!existsSync(path)) return [];
  return parseJailConf(readFileSync(path, 'utf8'), path);
}

export { formatJailBlock } from '../../../protocol/src/guest-config.ts';
