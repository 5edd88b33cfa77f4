export * from './planner.ts';
