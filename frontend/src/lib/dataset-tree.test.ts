// The source picker's tree (dataset-tree.ts) as table tests: what it hides, how it nests, what a
// search shows, and what each key does.
import { describe, expect, it } from 'vitest';
import { buildTree, guestMatches, revealed, treeKey, visibleRows, type DatasetEntry } from './dataset-tree';

const ds = (name: string, role: string | null = null): DatasetEntry => ({ name, usedBytes: 1, referencedBytes: 1, role });

const INVENTORY = [
  ds('tank'),
  ds('tank/data'),
  ds('tank/data/photos'),
  ds('tank/data/photos/2025'),
  ds('tank/jails'),
  ds('tank/jails/www'),
  ds('tank/jails/db'),
  ds('tank-b'),
  // hidden: a backup copy received here (and its children), a restore's staging and set-aside leftovers
  ds('tank/bk/j1', 'backup'),
  ds('tank/bk/j1/g1/src/data', 'backup'),
  ds('tank/.lb-staging-7-www', 'staging'),
  ds('tank/jails/www-lb-old-7', 'set-aside'),
  ds('zroot'),
  ds('zroot/a/b/c'),
];
const tree = buildTree(INVENTORY);
/** rows as `<indent by level><label>[+|-]`: + closed branch, - open one; * a search match */
const draw = (v: ReturnType<typeof visibleRows>) =>
  v.rows.map((r) => `${'  '.repeat(r.level - 1)}${r.label}${r.hasChildren ? (r.expanded ? '-' : '+') : ''}${r.match ? '*' : ''}`);

describe('buildTree', () => {
  it('leaves out backup copies and restore leftovers, counting them', () => {
    expect([...tree.nodes.keys()]).not.toContain('tank/bk/j1');
    expect([...tree.nodes.keys()].filter((n) => /lb-|bk/.test(n))).toEqual([]);
    expect(tree.hidden).toBe(4);
  });

  it('nests by name; a dataset whose parent is not listed hangs below its nearest listed ancestor', () => {
    expect(tree.roots).toEqual(['tank', 'tank-b', 'zroot']);
    expect(tree.nodes.get('tank')!.children).toEqual(['tank/data', 'tank/jails']);
    expect(tree.nodes.get('tank/jails')!.children).toEqual(['tank/jails/db', 'tank/jails/www']);
    expect(tree.nodes.get('zroot/a/b/c')).toMatchObject({ parent: 'zroot', label: 'a/b/c' });
    expect(buildTree([ds('p/x/y'), ds('p/x')]).roots).toEqual(['p/x']); // order of the report does not matter
  });
});

describe('visibleRows', () => {
  it.each([
    ['nothing open: the roots', [], ['tank+', 'tank-b', 'zroot+']],
    ['a root open', ['tank'], ['tank-', '  data+', '  jails+', 'tank-b', 'zroot+']],
    ['a child open', ['tank', 'tank/jails'], ['tank-', '  data+', '  jails-', '    db', '    www', 'tank-b', 'zroot+']],
    ['a branch open below a closed one stays hidden', ['tank/jails'], ['tank+', 'tank-b', 'zroot+']],
  ])('%s', (_, open, want) => expect(draw(visibleRows(tree, { expanded: new Set(open) }))).toEqual(want));

  it.each([
    ['www: the match and its ancestors, open', 'www', ['tank-', '  jails-', '    www*'], 1],
    ['case-insensitive, anywhere in the full name', 'PHOTOS', ['tank-', '  data-', '    photos-*', '      2025*'], 2],
    ['a root matching', 'zroot', ['zroot-*', '  a/b/c*'], 2],
    ['a hidden dataset is never found', 'lb-old', [], 0],
    ['no match', 'nope', [], 0],
    ['blank is no search', '  ', ['tank+', 'tank-b', 'zroot+'], 0],
  ])('search %s', (_, query, want, matches) => {
    const v = visibleRows(tree, { query, expanded: new Set() });
    expect(draw(v)).toEqual(want);
    expect(v.matches).toBe(matches);
  });

  it('while searching, branches cannot be closed; without, they can', () => {
    expect(visibleRows(tree, { query: 'www' }).rows.every((r) => !r.toggles)).toBe(true);
    expect(visibleRows(tree).rows.find((r) => r.name === 'tank')!.toggles).toBe(true);
  });

  it('set size and position among the siblings shown', () => {
    const rows = visibleRows(tree, { expanded: new Set(['tank']) }).rows;
    expect(rows.map((r) => `${r.name} ${r.posInSet}/${r.setSize}`)).toEqual([
      'tank 1/3',
      'tank/data 1/2',
      'tank/jails 2/2',
      'tank-b 2/3',
      'zroot 3/3',
    ]);
  });

  it('draws at most `limit` rows and counts the rest', () => {
    const big = buildTree([ds('p'), ...Array.from({ length: 1200 }, (_, i) => ds(`p/d${i}`))]);
    const v = visibleRows(big, { expanded: new Set(['p']), limit: 500 });
    expect(v.rows).toHaveLength(500);
    expect(v.more).toBe(701);
    expect(visibleRows(big, { query: 'd11', limit: 500 }).matches).toBe(111); // d11, d110–d119, d1100–d1199
  });

  it('revealed: the ancestors to open so a dataset is drawn', () => {
    expect([...revealed(tree, 'tank/data/photos/2025', new Set(['zroot']))].sort()).toEqual([
      'tank',
      'tank/data',
      'tank/data/photos',
      'zroot',
    ]);
    expect([...revealed(tree, 'not/listed', new Set())]).toEqual([]);
  });
});

describe('treeKey', () => {
  const rows = visibleRows(tree, { expanded: new Set(['tank']) }).rows; // tank-, data+, jails+, tank-b, zroot+
  const searching = visibleRows(tree, { query: 'www' }).rows; // tank-, jails-, www
  it.each([
    [rows, 'tank', 'ArrowDown', { focus: 'tank/data' }],
    [rows, 'zroot', 'ArrowDown', null],
    [rows, 'tank/data', 'ArrowUp', { focus: 'tank' }],
    [rows, 'tank', 'ArrowUp', null],
    [rows, 'tank/jails', 'Home', { focus: 'tank' }],
    [rows, 'tank', 'End', { focus: 'zroot' }],
    [rows, 'tank/data', 'ArrowRight', { expand: 'tank/data' }],
    [rows, 'tank', 'ArrowRight', { focus: 'tank/data' }],
    [rows, 'tank-b', 'ArrowRight', null],
    [rows, 'tank', 'ArrowLeft', { collapse: 'tank' }],
    [rows, 'tank/jails', 'ArrowLeft', { focus: 'tank' }],
    [rows, 'tank-b', 'ArrowLeft', null],
    [rows, 'tank/jails', 'Enter', { select: 'tank/jails' }],
    [rows, 'tank/jails', ' ', { select: 'tank/jails' }],
    [rows, 'tank', 'a', null],
    [rows, 'gone', 'ArrowDown', { focus: 'tank' }],
    [[], 'gone', 'ArrowDown', null],
    // while searching Left goes to the parent: the path to a match stays open
    [searching, 'tank/jails', 'ArrowLeft', { focus: 'tank' }],
    [searching, 'tank/jails/www', 'ArrowLeft', { focus: 'tank/jails' }],
  ])('%#: on %s, %j', (rs, focused, key, want) => expect(treeKey(rs, focused, key)).toEqual(want));
});

describe('guestMatches', () => {
  const www = { id: '7', name: 'www', roots: ['tank/jails/www', 'tank/data/www-db'] };
  it.each([
    ['', true],
    ['WW', true],
    ['7', true],
    ['www-db', true],
    ['tank/jails', true],
    ['mail', false],
  ])('%j', (q, want) => expect(guestMatches(www, q)).toBe(want));
});
