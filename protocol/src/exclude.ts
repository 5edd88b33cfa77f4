// Children a recursive dataset job leaves out (docs/zfs.md, "Excluding children"), written once for
// the server (validation), the runner (what it snapshots and sends) and the UI (the resulting list).
// Pure.
//
// A pattern is a dataset path relative to the job's source, `/`-separated; `*` matches any part of
// one path component and `**` any number of whole components (none included). A dataset is left out
// when it, or one of its ancestors below the source, matches a pattern: excluding a dataset
// excludes its subtree. The source itself is never excluded.

export const EXCLUDE_MAX_PATTERNS = 32;
const MAX_PATTERN_LENGTH = 255;
/** One component: the characters of a dataset name component (zfs(8): a space included), and `*`. */
const COMPONENT = /^[A-Za-z0-9_.: *-]+$/;

/** Why `pattern` is not a valid exclude pattern, or null when it is. */
export function excludePatternError(pattern: string): string | null {
  if (pattern.length === 0) return 'is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (pattern.startsWith('/')) return 'must be relative to the source (no leading /)';
  for (const c of pattern.split('/')) {
    if (c === '') return 'has an empty path component';
    if (c === '.' || c === '..') return 'must not contain . or .. components';
    if (!COMPONENT.test(c)) return 'may contain only letters, digits, spaces, _ . : - and * in each component';
    if (c.includes('**') && c !== '**') return '** must be a whole path component';
  }
  return null;
}

/** The first problem of a pattern list as `[index, message]`, or null. */
export function excludeListError(patterns: readonly string[]): [number | null, string] | null {
  if (patterns.length > EXCLUDE_MAX_PATTERNS) return [null, `has more than ${EXCLUDE_MAX_PATTERNS} patterns`];
  for (const [i, p] of patterns.entries()) {
    const err = excludePatternError(p);
    if (err) return [i, `pattern ${JSON.stringify(p)} ${err}`];
  }
  return null;
}

const componentMatcher = (c: string): ((s: string) => boolean) => {
  if (!c.includes('*')) return (s) => s === c;
  const re = new RegExp(`^${c.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
  return (s) => re.test(s);
};

function matchesAll(pattern: readonly string[], path: readonly string[], match: ((s: string) => boolean)[]): boolean {
  // memo over (pattern index, path index): `**` cannot make this exponential
  const seen = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (path.length + 1) + j;
    const known = seen.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === pattern.length) r = j === path.length;
    else if (pattern[i] === '**') r = go(i + 1, j) || (j < path.length && go(i, j + 1));
    else r = j < path.length && match[i](path[j]) && go(i + 1, j + 1);
    seen.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** A predicate over dataset names: is `dataset` (below `source`) left out by `patterns`? */
export function excluder(source: string, patterns: readonly string[]): (dataset: string) => boolean {
  if (patterns.length === 0) return () => false;
  const compiled = patterns.map((p) => {
    const parts = p.split('/');
    return { parts, match: parts.map(componentMatcher) };
  });
  return (dataset) => {
    if (!dataset.startsWith(source + '/')) return false; // the source itself, or not below it
    const rel = dataset.slice(source.length + 1).split('/');
    // left out when the dataset or an ancestor below the source matches
    for (let k = 1; k <= rel.length; k++) {
      const prefix = rel.slice(0, k);
      if (compiled.some((c) => matchesAll(c.parts, prefix, c.match))) return true;
    }
    return false;
  };
}

/** Split a recursive job's datasets (its source and children) into those backed up and those left out. */
export function splitExcluded(source: string, datasets: readonly string[], patterns: readonly string[]) {
  const out = excluder(source, patterns);
  const included: string[] = [];
  const excluded: string[] = [];
  for (const d of datasets) {
    if (d !== source && !d.startsWith(source + '/')) continue;
    (out(d) ? excluded : included).push(d);
  }
  return { included, excluded };
}
