/** Built-in device profiles, by the name a device gives in `profile:`. */
import type { Profile } from './types.js';
import { VFD } from './vfd.js';
import { XY_MD02 } from './xy-md02.js';
import { SDM120 } from './sdm120.js';

export type { Profile } from './types.js';

import type { ProfileName } from './names.js';

export { PROFILE_NAMES, type ProfileName } from './names.js';

export const PROFILES: Record<ProfileName, Profile> = {
  vfd: VFD,
  'xy-md02': XY_MD02,
  sdm120: SDM120,
};
