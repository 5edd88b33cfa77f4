export * from '../core/process.ts';
export * from './parse.ts';
export * from './zfs.ts';
export * from './argv.ts';
