/**
 * Building blocks shared by every part of the config schema, with messages a technician can
 * act on. The error path (`devices[2].poll_interval_ms`) is added by the loader.
 */
import * as v from 'valibot';
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE, POINT_NAME_PATTERN, POINT_NAME_RULE } from '../protocol/names.js';
import { DeviceAlarmsSchema } from '../alarms/config.js';

export const int = (min: number, max: number, description: string) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(min, `must be >= ${min}`),
    v.maxValue(max, `must be <= ${max}`),
    v.description(description),
  );

export const num = (description: string) => v.pipe(v.number('must be a number'), v.finite('must be finite'), v.description(description));

export const text = (description: string) => v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'), v.description(description));

/** Device ids become WebSocket topics and URL path segments (the rule: src/protocol/names.ts). */
export const deviceId = v.pipe(
  v.string('must be a string'),
  v.regex(DEVICE_ID_PATTERN, `must be ${DEVICE_ID_RULE}`),
  v.description('Unique device id: the WebSocket topic and the REST path segment.'),
);

/** A point name as a configuration key (the rule: src/protocol/names.ts). */
export const pointNameRule = v.regex(POINT_NAME_PATTERN, `point names are ${POINT_NAME_RULE}`);

/**
 * A point whose writes the HMI asks the operator to confirm first (a dialog). Start/Stop of a run
 * command asks anyway; `confirm: false` on such a point turns that off.
 */
export const pointConfirm = v.optional(
  v.pipe(
    v.boolean('must be true or false'),
    v.description('Ask for a confirmation in the HMI before a write (Start/Stop of a run command asks unless false). Default: false, except run commands.'),
  ),
);

/** Fields every device has, whatever its driver. */
export const deviceCommon = {
  id: deviceId,
  name: v.optional(text('Human name shown in the HMI and the CLI; defaults to the id.')),
  type: v.optional(text('Device type reported as device_type (motor, sensor, meter, ...).')),
  poll_interval_ms: v.optional(int(10, 3_600_000, 'How often the device is read, in milliseconds (10 ms to 1 h).'), 1000),
  alarms: v.optional(DeviceAlarmsSchema),
  area: v.optional(placeName('Plant area the device is in (hall-2, utilities, ...): the HMI groups devices by it, and `#/?area=hall-2` pins a panel to one.')),
  line: v.optional(placeName('Production line the device belongs to (line-3, ...), shown beside its area.')),
};

/** An area or line name: it appears in the HMI's URL, so it keeps to the device id's characters. */
function placeName(description: string) {
  return v.pipe(v.string('must be a string'), v.regex(DEVICE_ID_PATTERN, `must be ${DEVICE_ID_RULE}`), v.description(description));
}

/** A device's area and line for its descriptor: only those set, so a device without stays as before. */
export function placement(cfg: { area?: string | undefined; line?: string | undefined }): { area?: string; line?: string } {
  return { ...(cfg.area === undefined ? {} : { area: cfg.area }), ...(cfg.line === undefined ? {} : { line: cfg.line }) };
}
