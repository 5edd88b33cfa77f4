/** POSIX shell quoting of one argument: safe characters bare, everything else in single quotes. */
export function shQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'` + arg.replace(/'/g, `'\\''`) + `'`;
}

/** A remote command line: every argument quoted on its own. */
export function shJoin(argv: string[]): string {
  return argv.map(shQuote).join(' ');
}
