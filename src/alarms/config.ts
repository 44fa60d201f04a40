/**
 * Alarm settings: per device (`devices[].alarms`: point limits, discrete alarms, the offline
 * alarm) and gateway-wide (`alarms:`: the journal, shelving). One valibot schema, like the rest of
 * the config. Cross-checks against the device's points live in definitions.ts.
 *
 * This file must not import src/config/fields.ts: that file imports this one (deviceCommon).
 */
import * as v from 'valibot';
import { POINT_NAME_PATTERN, POINT_NAME_RULE } from '../protocol/names.js';
import { ALARM_PRIORITIES } from '../protocol/alarms.js';

const num = (description: string) => v.pipe(v.number('must be a number'), v.finite('must be finite'), v.description(description));
const ms = (max: number, description: string) =>
  v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0, 'must be >= 0'), v.maxValue(max, `must be <= ${max}`), v.description(description));
const priority = (dflt: string) =>
  v.optional(v.pipe(v.picklist(ALARM_PRIORITIES, `must be one of ${ALARM_PRIORITIES.join(', ')}`), v.description(`critical, high, medium or low (default ${dflt}).`)));
const message = v.optional(
  v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'), v.maxLength(200, 'must be at most 200 characters'), v.description('Text the operator reads; a default names the device, point and limit.')),
);
const ackRequired = v.optional(v.pipe(v.boolean('must be true or false'), v.description('Whether the operator must acknowledge the alarm (default true).')));

/** An hour: longer delays hide a process upset rather than filter noise. */
const MAX_DELAY_MS = 3_600_000;

const limitObject = v.strictObject(
  {
    limit: num('The limit in engineering units: hi/hihi raise at value >= limit, lo/lolo at value <= limit.'),
    priority: priority('hihi/lolo high, hi/lo medium'),
    message,
    ack_required: ackRequired,
  },
  'unknown setting',
);

type LimitObject = v.InferOutput<typeof limitObject>;

/** `hi: 12` or `hi: {limit: 12, priority: high, message: ...}` (a lazy choice, for the reason given at falseOr). */
const limitNumber = v.pipe(v.number(), v.finite('must be finite'), v.transform((limit): LimitObject => ({ limit })));
const LimitSchema = v.lazy((input) => (input === undefined ? v.union([limitNumber, limitObject]) : typeof input === 'number' ? limitNumber : limitObject));

/**
 * `false`, or the schema. A lazy choice keeps the inner schema's own messages and paths, where a
 * union would answer only "must be false or ...". The JSON Schema export calls the getter
 * without an input (never the case when validating: `optional` answers undefined itself) and
 * gets the union, so editors accept both forms.
 */
const falseOr = <T extends v.GenericSchema>(schema: T) =>
  v.lazy((input) => (input === undefined ? v.union([v.literal(false), schema]) : input === false ? v.literal(false) : schema));

const DiscreteSchema = v.strictObject(
  {
    when: v.pipe(
      v.union([v.boolean(), v.number(), v.string()], 'must be true, false, a number or an enum label'),
      v.description('The value that is the alarm: true for a fault bit, a label or number for one state.'),
    ),
    priority: priority('high'),
    message,
    ack_required: ackRequired,
  },
  'unknown setting',
);

const CodeSchema = v.strictObject({ priority: priority('high'), message, ack_required: ackRequired }, 'unknown setting');

const QualitySchema = v.strictObject(
  {
    priority: priority('low'),
    message,
    on_delay_ms: v.optional(ms(MAX_DELAY_MS, 'How long the reading must stay stale or bad before the alarm (ms).')),
    ack_required: ackRequired,
  },
  'unknown setting',
);

export const PointAlarmsSchema = v.strictObject(
  {
    hihi: v.optional(LimitSchema),
    hi: v.optional(LimitSchema),
    lo: v.optional(LimitSchema),
    lolo: v.optional(LimitSchema),
    deadband: v.optional(
      v.pipe(num('Hysteresis (engineering units): a hi alarm clears below limit - deadband, a lo alarm above limit + deadband.'), v.minValue(0, 'must be >= 0')),
    ),
    on_delay_ms: v.optional(ms(MAX_DELAY_MS, 'How long a limit must stay crossed before the alarm is raised (ms); shorter spikes raise nothing.')),
    off_delay_ms: v.optional(ms(MAX_DELAY_MS, 'How long the value must stay back inside before the alarm clears (ms).')),
    discrete: v.optional(DiscreteSchema),
    codes: v.optional(
      v.record(v.pipe(v.string(), v.minLength(1, 'must not be empty')), CodeSchema, 'must map codes (enum labels or whole numbers) to {priority, message}'),
    ),
    quality: v.optional(falseOr(QualitySchema)),
  },
  'unknown setting',
);

const OfflineSchema = v.strictObject(
  {
    priority: priority('high'),
    message,
    on_delay_ms: v.optional(ms(MAX_DELAY_MS, 'How long the device must stay offline before the alarm (ms).')),
    ack_required: ackRequired,
  },
  'unknown setting',
);

export const DeviceAlarmsSchema = v.pipe(
  v.strictObject(
    {
      offline: v.optional(falseOr(OfflineSchema)),
      points: v.optional(
        v.record(
          v.pipe(v.string(), v.regex(POINT_NAME_PATTERN, `point names are ${POINT_NAME_RULE}`)),
          falseOr(PointAlarmsSchema),
          'must map point names to their alarms',
        ),
      ),
    },
    'unknown setting',
  ),
  v.description('Alarms of this device: limits and discrete alarms per point, and the offline alarm (on unless `offline: false`).'),
);

export const AlarmSettingsSchema = v.strictObject(
  {
    journal_max_bytes: v.optional(
      v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(4096, 'must be >= 4096'), v.maxValue(1_073_741_824, 'must be <= 1073741824'), v.description('Size at which the alarm journal is rotated (bytes).')),
      1_048_576,
    ),
    journal_files: v.optional(
      v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be >= 1'), v.maxValue(100, 'must be <= 100'), v.description('Rotated journal files kept besides the current one: the journal holds at most (journal_files + 1) x journal_max_bytes.')),
      4,
    ),
    max_shelve_s: v.optional(
      v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(60, 'must be >= 60'), v.maxValue(604_800, 'must be <= 604800'), v.description('Longest an operator may shelve an alarm (seconds; default 8 h, one shift).')),
      28_800,
    ),
    standing_after_s: v.optional(
      v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(60, 'must be >= 60'), v.description('An alarm active longer than this counts as standing (EEMUA 191: 24 h).')),
      86_400,
    ),
  },
  'unknown setting',
);

export type PointAlarmsConfig = v.InferOutput<typeof PointAlarmsSchema>;
export type PointAlarmsInput = v.InferInput<typeof PointAlarmsSchema>;
export type DeviceAlarmsConfig = v.InferOutput<typeof DeviceAlarmsSchema>;
export type DeviceAlarmsInput = v.InferInput<typeof DeviceAlarmsSchema>;
export type AlarmSettings = v.InferOutput<typeof AlarmSettingsSchema>;
