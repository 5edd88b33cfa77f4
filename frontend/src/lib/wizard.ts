// Wizard steps with a single choice are skipped (issue 16 #8): Next and Back jump over them, and the
// step list shows what was chosen there. Pure; the wizards say which steps have one choice.

/** The step after `current` in direction `dir` that is not skipped; `current` when there is none. */
export function stepAfter(current: number, skip: readonly boolean[], dir: 1 | -1): number {
  for (let i = current + dir; i >= 0 && i < skip.length; i += dir) if (!skip[i]) return i;
  return current;
}

/** Whether Back leads anywhere from `current` (every earlier step may have been skipped). */
export const canGoBack = (current: number, skip: readonly boolean[]) => stepAfter(current, skip, -1) !== current;
