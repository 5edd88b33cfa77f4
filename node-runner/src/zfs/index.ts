export * from './exec.ts';
export * from './parse.ts';
export * from './zfs.ts';
