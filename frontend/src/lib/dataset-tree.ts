// The source picker's tree of a node's datasets (JobForm): which datasets it offers, how they nest,
// which rows a search and the expanded branches show, and what a key does. Pure, so its table test
// covers it; the component only renders rows and keeps the focus.
//
// It lives in the UI, not the server: GET /nodes/:id lists every dataset with its role (the restore
// wizards and the server's own checks need them all); hiding copies and leftovers is this picker's
// choice.

export interface DatasetEntry {
  name: string;
  usedBytes: number | null;
  referencedBytes: number | null;
  /** not the operator's own data: a received backup copy or a restore leftover (protocol/src/layout.ts) */
  role?: string | null;
}

export interface TreeNode {
  entry: DatasetEntry;
  /** the name below its parent in the tree ("data" of tank/data; a longer path when levels between are not listed) */
  label: string;
  parent: string | null;
  children: string[];
}

export interface DatasetTree {
  nodes: Map<string, TreeNode>;
  roots: string[];
  /** datasets left out: backup copies and restore leftovers */
  hidden: number;
}

/** The tree of the datasets the picker offers (no role), children in name order. */
export function buildTree(datasets: readonly DatasetEntry[]): DatasetTree {
  const shown = datasets.filter((d) => !d.role);
  const nodes = new Map<string, TreeNode>();
  for (const d of [...shown].sort((a, b) => cmp(a.name, b.name)))
    nodes.set(d.name, { entry: d, label: d.name, parent: null, children: [] });
  const roots: string[] = [];
  // sorted, so a parent is placed before its children
  for (const [name, n] of nodes) {
    let parent: string | null = null;
    for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
      if (nodes.has(name.slice(0, i))) {
        parent = name.slice(0, i);
        break;
      }
    }
    n.parent = parent;
    n.label = parent === null ? name : name.slice(parent.length + 1);
    if (parent === null) roots.push(name);
    else nodes.get(parent)!.children.push(name);
  }
  return { nodes, roots, hidden: datasets.length - shown.length };
}

/** Plain code-unit order: "tank" < "tank/a" < "tank-b" as zfs lists them, not by locale. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface TreeRow {
  name: string;
  label: string;
  /** 1 for a root (aria-level) */
  level: number;
  /** has children to show (now: while searching, children that match or lead to a match) */
  hasChildren: boolean;
  expanded: boolean;
  /** the user can open or close it (not while searching: then the path to every match is open) */
  toggles: boolean;
  /** the name contains the search text (false without one) */
  match: boolean;
  /** aria-setsize / aria-posinset among its siblings as shown */
  setSize: number;
  posInSet: number;
  entry: DatasetEntry;
}

export interface RowsView {
  rows: TreeRow[];
  /** rows beyond `limit`, not drawn */
  more: number;
  /** datasets whose name contains the search text */
  matches: number;
}

/**
 * The rows to draw, parents before children. Without a search: the roots and the children of
 * expanded rows. With one (case-insensitive, anywhere in the full name): every match and its
 * ancestors, all open. At most `limit` rows (a node may report 20,000 datasets).
 */
export function visibleRows(tree: DatasetTree, opts: { query?: string; expanded?: ReadonlySet<string>; limit?: number } = {}): RowsView {
  const q = (opts.query ?? '').trim().toLowerCase();
  const expanded = opts.expanded ?? new Set<string>();
  const limit = opts.limit ?? 500;
  let keep: Set<string> | null = null;
  let matches = 0;
  if (q) {
    keep = new Set();
    for (const [name] of tree.nodes) {
      if (!name.toLowerCase().includes(q)) continue;
      matches++;
      for (let n: string | null = name; n !== null && !keep.has(n); n = tree.nodes.get(n)!.parent) keep.add(n);
    }
  }
  const rows: TreeRow[] = [];
  let more = 0;
  const walk = (names: string[], level: number) => {
    const shown = keep ? names.filter((n) => keep.has(n)) : names;
    shown.forEach((name, i) => {
      const node = tree.nodes.get(name)!;
      const kids = keep ? node.children.filter((c) => keep.has(c)) : node.children;
      const open = kids.length > 0 && (keep !== null || expanded.has(name));
      if (rows.length < limit)
        rows.push({
          name,
          label: node.label,
          level,
          hasChildren: kids.length > 0,
          expanded: open,
          toggles: keep === null && kids.length > 0,
          match: q !== '' && name.toLowerCase().includes(q),
          setSize: shown.length,
          posInSet: i + 1,
          entry: node.entry,
        });
      else more++;
      if (open) walk(kids, level + 1);
    });
  };
  walk(tree.roots, 1);
  return { rows, more, matches };
}

/** The branches to open so that `name` is drawn (its ancestors), added to `expanded`. */
export function revealed(tree: DatasetTree, name: string, expanded: ReadonlySet<string>): Set<string> {
  const out = new Set(expanded);
  for (let p = tree.nodes.get(name)?.parent ?? null; p !== null; p = tree.nodes.get(p)!.parent) out.add(p);
  return out;
}

export type TreeKeyAction = { focus: string } | { expand: string } | { collapse: string } | { select: string } | null;

/**
 * What a key does on the focused row (the WAI-ARIA tree view pattern): Up/Down/Home/End move,
 * Right opens a closed branch or moves into an open one, Left closes an open branch or moves to
 * the parent, Enter and Space choose. null: not a key of the tree.
 */
export function treeKey(rows: readonly TreeRow[], focused: string, key: string): TreeKeyAction {
  const i = rows.findIndex((r) => r.name === focused);
  if (i < 0) return rows.length ? { focus: rows[0].name } : null;
  const row = rows[i];
  switch (key) {
    case 'ArrowDown':
      return i + 1 < rows.length ? { focus: rows[i + 1].name } : null;
    case 'ArrowUp':
      return i > 0 ? { focus: rows[i - 1].name } : null;
    case 'Home':
      return { focus: rows[0].name };
    case 'End':
      return { focus: rows[rows.length - 1].name };
    case 'ArrowRight':
      if (row.hasChildren && !row.expanded) return { expand: row.name };
      return row.expanded && rows[i + 1]?.level === row.level + 1 ? { focus: rows[i + 1].name } : null;
    case 'ArrowLeft': {
      if (row.expanded && row.toggles) return { collapse: row.name };
      for (let j = i - 1; j >= 0; j--) if (rows[j].level === row.level - 1) return { focus: rows[j].name };
      return null;
    }
    case 'Enter':
    case ' ':
      return { select: row.name };
    default:
      return null;
  }
}

/** A jail or VM the search keeps: its name, id or one of its roots contains the text (case-insensitive). */
export function guestMatches(g: { id: string; name: string; roots: readonly string[] }, query: string): boolean {
  const q = query.trim().toLowerCase();
  return !q || [g.name, g.id, ...g.roots].some((s) => s.toLowerCase().includes(q));
}
