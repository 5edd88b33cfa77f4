// targetReadiness: table tests, no database.
import { describe, expect, it } from 'vitest';
import { targetReadiness, type NodeState, type Readiness } from './target-readiness.ts';

describe('targetReadiness', () => {
  const cases: [string, boolean, NodeState[], Readiness][] = [
    ['no nodes', false, [], 'not-validated'],
    ['never validated', false, ['not-validated'], 'not-validated'],
    ['validated, host key awaiting confirmation', false, ['host-key-pending'], 'not-validated'],
    ['a node ready without a pin (not a state the view makes) is not ready', false, ['ready'], 'not-validated'],
    ['validated and pinned', true, ['ready'], 'ready'],
    ['pinned, one node ready, one never validated', true, ['ready', 'not-validated'], 'ready'],
    ['pinned, settings changed since the validation', true, ['config-changed'], 'not-validated'],
    ['a failure wins over a ready node', true, ['ready', 'failed'], 'failed'],
    ['a failure without a pin', false, ['failed'], 'failed'],
  ];
  it.each(cases)('%s', (_name, pinned, states, want) => {
    expect(targetReadiness(pinned, states)).toBe(want);
  });
});
