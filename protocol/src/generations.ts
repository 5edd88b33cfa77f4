// Which of a job's old generations go (docs/zfs.md, "Old generations"): the server decides at each
// backup's claim, the runner destroys them on the target after its own checks. Pure.
//
// A generation other than the current one is kept while it is among the job's `keepGenerations`
// newest (the current one counts) or while it stopped being current less than
// `keepGenerationDays` days ago; with neither set, every generation is kept. Never dropped,
// whatever the policy: the current generation, the next one a backup may write, one a restore or
// an out-of-band restore reads from now, and the one the next backup forks from after a restore.

export interface GenerationPolicy {
  /** keep the newest K generations, the current one included (≥ 1); null: no count rule */
  keepGenerations: number | null;
  /** keep a generation D days after it stopped being current; null: no age rule */
  keepGenerationDays: number | null;
}

export interface GenerationRow {
  generation: number;
  /** epoch ms it began (its successor's is when it stopped being current) */
  createdAt: number;
}

export interface GenerationVerdict {
  generation: number;
  drop: boolean;
  reason: string;
}

const DAY = 86_400_000;

export function planGenerationDrops(i: {
  generations: GenerationRow[];
  current: number;
  policy: GenerationPolicy;
  now: number;
  /** generations something needs now (restores reading them, the fork point), with why */
  busy: Map<number, string>;
}): GenerationVerdict[] {
  const { keepGenerations: k, keepGenerationDays: d } = i.policy;
  const gens = [...i.generations].sort((a, b) => b.generation - a.generation);
  return gens.map((g, rank) => {
    const keep = (reason: string): GenerationVerdict => ({ generation: g.generation, drop: false, reason });
    if (g.generation >= i.current) return keep(g.generation === i.current ? 'current' : 'newer than the current one');
    const busy = i.busy.get(g.generation);
    if (busy) return keep(busy);
    if (k === null && d === null) return keep('no generation policy');
    // it stopped being current when the next newer one began
    const endedAt = gens[rank - 1]?.createdAt ?? i.now;
    const idleDays = Math.floor((i.now - endedAt) / DAY);
    if (k !== null && rank < k) return keep(`one of the newest ${k}`);
    if (d !== null && i.now - endedAt < d * DAY) return keep(`not current for ${idleDays} of ${d} days`);
    const why = [
      k !== null ? `not one of the newest ${k}` : null,
      d !== null ? `not current for ${idleDays} days (keep ${d})` : null,
    ].filter(Boolean);
    return { generation: g.generation, drop: true, reason: why.join(' and ') };
  });
}
