/**
 * Packs a resume into batch `subscribe` messages (`"devices": {"motor_01": 41, …}`), each under
 * the gateway's message size limit (server.max_message_bytes, 1024 bytes by default; a message
 * over it closes the socket). A resume of 120 devices is then three messages instead of 120, so
 * it no longer waits on the gateway's per-connection message rate.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024;

/** Room left under the limit: for a longer request id than the one measured, and a safe edge. */
const MARGIN_BYTES = 96;

export interface ResumeEntry {
  deviceId: string;
  /** The last seq applied; undefined: none (the device is answered with a snapshot). */
  since: number | undefined;
}

const encoder = new TextEncoder();
const bytes = (s: string): number => encoder.encode(s).length;

/**
 * Splits `entries` into groups whose batch message, with `instance` and a request id, stays under
 * `maxMessageBytes` less a margin. Order is kept; every group holds at least one device.
 */
export function packResume(entries: readonly ResumeEntry[], instance: string | undefined, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): ResumeEntry[][] {
  const empty = batchMessage([], instance, 'c000000000');
  const room = maxMessageBytes - MARGIN_BYTES - bytes(JSON.stringify(empty));
  const groups: ResumeEntry[][] = [];
  let group: ResumeEntry[] = [];
  let used = 0;
  for (const e of entries) {
    // `"id":since,` — the comma is counted for every entry, one too many is harmless.
    const size = bytes(JSON.stringify(e.deviceId)) + 1 + String(e.since ?? null).length + 1;
    if (group.length > 0 && used + size > room) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(e);
    used += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** The batch `subscribe` for one group (`since` null: the device has no seq to resume from). */
export function batchMessage(group: readonly ResumeEntry[], instance: string | undefined, id: string): Record<string, unknown> & { id: string } {
  // No prototype: a device named `__proto__` is an ordinary key here.
  const devices = Object.create(null) as Record<string, number | null>;
  for (const e of group) devices[e.deviceId] = e.since ?? null;
  return { action: 'subscribe', devices, ...(instance === undefined ? {} : { instance }), id };
}
