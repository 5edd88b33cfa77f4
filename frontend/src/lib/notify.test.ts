// Table tests of the notification settings' and job form's pure helpers.
import { describe, expect, it } from 'vitest';
import {
  destination,
  generationsText,
  hostPort,
  parseAddresses,
  portAfterSecurity,
  recipientsError,
  rpoFromForm,
  rpoToForm,
  spanText,
} from './notify';

describe('portAfterSecurity', () => {
  it.each([
    [null, 'tls', 'starttls', 587],
    [465, 'tls', 'starttls', 587],
    [465, 'tls', 'none', 25],
    [25, 'none', 'tls', 465],
    [2525, 'none', 'tls', 2525], // a port the user chose stays
    [587, 'tls', 'none', 587],
    [Number.NaN, 'starttls', 'tls', 465],
  ] as const)('%s, %s → %s: %s', (port, from, to, want) => {
    expect(portAfterSecurity(port, from, to)).toBe(want);
  });
});

describe('parseAddresses', () => {
  it.each([
    ['', []],
    ['a@x.org', ['a@x.org']],
    ['a@x.org, b@y.org', ['a@x.org', 'b@y.org']],
    ['a@x.org\n\n b@y.org ;c@z.org,', ['a@x.org', 'b@y.org', 'c@z.org']],
    ['  \n , ', []],
  ])('%j', (text, want) => {
    expect(parseAddresses(text)).toEqual(want);
  });
});

describe('destination', () => {
  it('a URL for webhook and ntfy, the SMTP server and recipients for email', () => {
    expect(destination({ url: 'https://ntfy.sh/t', email: null })).toBe('https://ntfy.sh/t');
    expect(destination({ url: null, email: { host: 'mail.example.org', port: 587, to: ['a@x.org', 'b@y.org'] } })).toBe(
      'SMTP mail.example.org:587 → a@x.org, b@y.org',
    );
    expect(destination({ url: null, email: null })).toBe('—');
  });
  it('brackets an IPv6 host', () => {
    expect(hostPort('::1', 25)).toBe('[::1]:25');
    expect(hostPort('[::1]', 25)).toBe('[::1]:25');
    expect(hostPort('192.0.2.1', 465)).toBe('192.0.2.1:465');
  });
});

describe('recipientsError', () => {
  it('names the address the API refused, or speaks of the list', () => {
    expect(recipientsError({ 'email.to.1': 'is not an email address' }, ['ok@x.org', 'nope'])).toBe('“nope” is not an email address');
    expect(recipientsError({ 'email.to': 'needs at least one address' }, [])).toBe('To needs at least one address');
    expect(recipientsError({ 'email.to.5': 'is not an email address' }, ['a'])).toBe('To is not an email address');
    expect(recipientsError({ 'email.host': 'is required' }, ['a@x.org'])).toBeNull();
    expect(recipientsError(undefined, [])).toBeNull();
  });
});

describe('RPO in the form', () => {
  it.each([
    [null, { value: null, unit: 'hours' }],
    [7200, { value: 2, unit: 'hours' }],
    [5400, { value: 90, unit: 'minutes' }],
    [60, { value: 1, unit: 'minutes' }],
    [90, { value: 1.5, unit: 'minutes' }],
  ] as const)('%s s shows as %j', (s, want) => {
    expect(rpoToForm(s)).toEqual(want);
  });
  it.each([
    [null, 'hours', null],
    ['', 'minutes', null],
    [2, 'hours', 7200],
    [1.5, 'hours', 5400],
    [90, 'minutes', 5400],
    ['30', 'minutes', 1800],
    ['x', 'hours', Number.NaN],
  ] as const)('%j %s → %s s', (v, unit, want) => {
    expect(rpoFromForm(v, unit)).toEqual(want);
  });
  it('round-trips what it shows', () => {
    for (const s of [60, 300, 3600, 5400, 86_400, 93_600, 366 * 86_400]) {
      const f = rpoToForm(s);
      expect(rpoFromForm(f.value, f.unit)).toBe(s);
    }
  });
});

describe('spanText', () => {
  it.each([
    [30, '30 s'],
    [60, '1 min'],
    [5400, '90 min'],
    [7200, '2 h'],
    [9000, '2 h 30 min'],
    [86_400, '1 d'],
    [2 * 86_400 + 3 * 3600, '2 d 3 h'],
  ])('%s s: %s', (s, want) => {
    expect(spanText(s)).toBe(want);
  });
});

describe('generationsText', () => {
  it.each([
    [null, null, 'Both empty: every old generation is kept.'],
    [2, null, 'Keeps the newest 2 generations (the current one included); no age rule.'],
    [1, null, 'Keeps the newest 1 generation (the current one included); no age rule.'],
    [null, 30, 'Keeps each old generation for 30 days after it was replaced; no count rule.'],
    [3, 7, 'Keeps the newest 3 generations (the current one included), and any other for 7 days after it was replaced.'],
    [2, 0, 'Keeps the newest 2 generations (the current one included) and no other.'],
    [null, 0, 'Keeps no old generation: each is destroyed once replaced (0 days, no count rule).'],
  ])('%s, %s', (k, d, want) => {
    expect(generationsText(k, d)).toBe(want);
  });
});
