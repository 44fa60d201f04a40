/** Built-in device profiles, by the name a device gives in `profile:`. */
import type { Profile } from './types.js';
import { VFD } from './vfd.js';
import { XY_MD02 } from './xy-md02.js';
import { SDM120 } from './sdm120.js';

export type { Profile } from './types.js';

export const PROFILE_NAMES = ['vfd', 'xy-md02', 'sdm120'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const PROFILES: Record<ProfileName, Profile> = {
  vfd: VFD,
  'xy-md02': XY_MD02,
  sdm120: SDM120,
};
