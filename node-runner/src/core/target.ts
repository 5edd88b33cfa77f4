// A backup target as a claim hands it to the runner (protocol/src/runner-api.ts).
export type { TargetSpec } from '../../../protocol/src/runner-api.ts';
