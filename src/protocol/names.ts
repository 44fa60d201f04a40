/**
 * The naming rules every side checks the same way: the configuration, the WebSocket parser, and
 * any client that wants to refuse a bad id before the round trip. Browser-safe.
 */

/** Device ids become WebSocket topics and URL path segments: nothing that needs escaping. */
export const DEVICE_ID_CHARS = '[A-Za-z0-9_.-]{1,64}';
export const DEVICE_ID_PATTERN = new RegExp(`^${DEVICE_ID_CHARS}$`);
export const DEVICE_ID_RULE = '1-64 letters, digits, "_", "-" or "."';

/** Point names are keys in `state` and identifiers in alarm conditions: no dots, no leading digit. */
export const POINT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const POINT_NAME_RULE = '1-64 letters, digits or "_", not starting with a digit';

export function isDeviceId(s: unknown): s is string {
  return typeof s === 'string' && DEVICE_ID_PATTERN.test(s);
}

export function isPointName(s: unknown): s is string {
  return typeof s === 'string' && POINT_NAME_PATTERN.test(s);
}
