import { describe, expect, it } from 'vitest';
import { excludeListError, excludePatternError, excluder, splitExcluded } from './exclude.ts';

describe('excludePatternError', () => {
  it.each([
    ['tmp', null],
    ['data/cache', null],
    ['*/cache', null],
    ['**/cache', null],
    ['vm-*', null],
    ['a.b:c_d-e', null],
    ['', 'is empty'],
    ['/tank/tmp', 'must be relative to the source (no leading /)'],
    ['a//b', 'has an empty path component'],
    ['a/', 'has an empty path component'],
    ['../x', 'must not contain . or .. components'],
    ['a/./b', 'must not contain . or .. components'],
    ['my data', null],
    ['a@snap', 'may contain only letters, digits, spaces, _ . : - and * in each component'],
    ['a#bm', 'may contain only letters, digits, spaces, _ . : - and * in each component'],
    ['$(reboot)', 'may contain only letters, digits, spaces, _ . : - and * in each component'],
    ['a**', '** must be a whole path component'],
    ['x'.repeat(256), 'is longer than 255 characters'],
  ])('%j → %j', (p, err) => expect(excludePatternError(p)).toBe(err));

  it('names the first bad pattern of a list, and limits the count', () => {
    expect(excludeListError(['ok', 'a//b', '/x'])).toEqual([1, 'pattern "a//b" has an empty path component']);
    expect(excludeListError(Array.from({ length: 33 }, (_, i) => `d${i}`))).toEqual([null, 'has more than 32 patterns']);
    expect(excludeListError(['a', '**/b'])).toBeNull();
  });
});

describe('excluder', () => {
  const src = 'tank/data';
  it.each([
    // [patterns, dataset, excluded?]
    [['tmp'], 'tank/data', false], // the source is never excluded
    [['tmp'], 'tank/data/tmp', true],
    [['tmp'], 'tank/data/tmp/deep/er', true], // a subtree goes with its root
    [['tmp'], 'tank/data/tmpfiles', false],
    [['tmp'], 'tank/data/a/tmp', false], // relative to the source, not anywhere
    [['*/tmp'], 'tank/data/a/tmp', true],
    [['*/tmp'], 'tank/data/a/b/tmp', false],
    [['**/tmp'], 'tank/data/tmp', true], // ** matches no component too
    [['**/tmp'], 'tank/data/a/b/tmp', true],
    [['**/tmp'], 'tank/data/a/b/tmp/c', true],
    [['**/tmp'], 'tank/data/a/b/notmp', false],
    [['vm-*'], 'tank/data/vm-1', true],
    [['vm-*'], 'tank/data/xvm-1', false],
    [['a.b'], 'tank/data/aXb', false], // . is literal
    [['*'], 'tank/data/anything', true],
    [['**'], 'tank/data/anything/below', true],
    [['tmp'], 'tank/database/tmp', false], // a sibling with a common prefix is not below the source
    [[], 'tank/data/tmp', false],
    [['x', 'cache'], 'tank/data/cache', true],
  ])('%j %s → %s', (patterns, ds, out) => expect(excluder(src, patterns)(ds)).toBe(out));

  it('stays fast for many ** over a deep path', () => {
    const deep = 'tank/data/' + Array.from({ length: 40 }, (_, i) => `c${i}`).join('/');
    expect(excluder(src, ['**/**/**/**/**/**/**/**/nomatch'])(deep)).toBe(false);
  });

  it('splits a listing into the datasets backed up and those left out', () => {
    const names = ['tank/data', 'tank/data/a', 'tank/data/a/cache', 'tank/data/tmp', 'tank/data/tmp/x', 'tank/other'];
    expect(splitExcluded(src, names, ['tmp', '**/cache'])).toEqual({
      included: ['tank/data', 'tank/data/a'],
      excluded: ['tank/data/a/cache', 'tank/data/tmp', 'tank/data/tmp/x'],
    });
  });
});
