export {
  SshSession,
  normalizeHostKeys,
  setSessionDirBase,
  configureWarmConnections,
  closeWarmConnections,
  warmConnectionPids,
  validateSshEndpoint,
  HOST_KEY_ALIAS,
  type SshOpenOptions,
} from './session.ts';
export { shQuote, shJoin } from './quote.ts';
export { classifySsh, describeSshFailure } from './errors.ts';
