/**
 * The names a device gives in `profile:`. A leaf: the Modbus device schema needs the names and
 * the profiles need the Modbus point type, so the names cannot live with the profiles.
 */
export const PROFILE_NAMES = ['vfd', 'xy-md02', 'sdm120'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
