// Table tests of how API errors read on screen: once, in sentences, without field keys.
import { describe, expect, it } from 'vitest';
import { bannerText, fieldSentence, keyLabel, sentence } from './error-text';

const err = (message: string, fields: Record<string, string> = {}) => ({ message, fields });

describe('sentence', () => {
  it.each([
    ['target 3 not found', 'Target 3 not found.'],
    ['the job already has a backup or restore queued or running', 'The job already has a backup or restore queued or running.'],
    ['too late to stop: the event already ended (success)', 'Too late to stop: the event already ended (success).'],
    ['Already a sentence.', 'Already a sentence.'],
    ['  spaced out!  ', 'Spaced out!'],
    ['', ''],
  ])('%j → %j', (input, want) => {
    expect(sentence(input)).toBe(want);
  });
});

describe('keyLabel', () => {
  it.each([
    ['name', 'Name'],
    ['sshHost', 'SSH host'],
    ['targetId', 'Target'],
    ['bandwidthLimitKiBps', 'Bandwidth limit KiB/s'],
    ['sourceRetention.daily', 'Source retention daily'],
    ['email.to.0', 'Email to #1'],
    ['rpoSeconds', 'RPO seconds'],
  ])('%s → %s', (key, want) => {
    expect(keyLabel(key)).toBe(want);
  });
});

describe('fieldSentence', () => {
  it.each([
    ['Name', 'is required', 'Name is required'],
    ['Time zone', 'must be an IANA zone', 'Time zone must be an IANA zone'],
    ['Source', 'the pattern never matches', 'The pattern never matches'],
    ['Target', 'names a disabled target', 'Target names a disabled target'],
  ])('%s + %j → %j', (label, message, want) => {
    expect(fieldSentence(label, message)).toBe(want);
  });
});

describe('bannerText', () => {
  const shownName = (k: string) => k === 'name';
  it.each<[string, Parameters<typeof bannerText>[0], ((k: string) => boolean) | undefined, string | null]>([
    ['nothing', null, undefined, null],
    ['a plain string', 'cannot reach the server', undefined, 'Cannot reach the server.'],
    ['a message without fields', err('target 3 not found'), undefined, 'Target 3 not found.'],
    ['a field shown under its input: not repeated', err('name: is required', { name: 'is required' }), shownName, null],
    [
      'a field the form does not show: said with its label, without the key',
      err('sshHost: is not a host name', { sshHost: 'is not a host name' }),
      shownName,
      'SSH host is not a host name.',
    ],
    [
      'shown and not shown: only the rest',
      err('name: is required; nodeId: is offline', { name: 'is required', nodeId: 'is offline' }),
      shownName,
      'Node is offline.',
    ],
    [
      'no form: every field, in sentences',
      err('x', { name: 'is required', port: 'must be 1-65535' }),
      undefined,
      'Name is required. Port must be 1-65535.',
    ],
  ])('%s', (_, error, shown, want) => {
    expect(bannerText(error, shown)).toBe(want);
  });
});
