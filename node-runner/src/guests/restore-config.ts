// What a guest restore may take from the target's metadata: the allow-lists live in the protocol
// package (shared with the control plane, which checks a user's own network configuration and
// previews a registration with them). Here a value that does not fit becomes the runner's
// GuestError ('invalid'): the restore fails before anything is registered.
import {
  checkManifestMetadata as checkManifest,
  GuestConfigError,
  jailParamsFromMetadata as jailParams,
  jailConfFile as jailConf,
  vmNicSettingsFromMetadata as vmNics,
} from '../../../protocol/src/guest-config.ts';
import { GuestError } from './types.ts';

export { JAIL_NAME, MANIFEST_ID, MANIFEST_METADATA_MAX_BYTES, MANIFEST_NAME, VM_BHYVE_NAME } from '../../../protocol/src/guest-config.ts';

function asGuestError<A extends unknown[], R>(f: (...a: A) => R): (...a: A) => R {
  return (...a) => {
    try {
      return f(...a);
    } catch (e) {
      if (e instanceof GuestConfigError) throw new GuestError('invalid', e.message);
      throw e;
    }
  };
}

export const jailParamsFromMetadata = asGuestError(jailParams);
export const jailConfFile = asGuestError(jailConf);
export const vmNicSettingsFromMetadata = asGuestError(vmNics);
export const checkManifestMetadata = asGuestError(checkManifest);
