/**
 * Config of serial line-protocol devices: newline-delimited ASCII (scales, barcode readers, older
 * motor controllers, microcontroller boards). Each device names its port; devices that name the
 * same port share it (one driver per port, one outstanding request on it at a time).
 *
 * A point is read either by request/response (`command` sent on every poll, the answer matched by
 * `pattern`) or from lines the device streams by itself (`pattern` without `command`). Regexes are
 * JavaScript syntax; compile errors are reported with their path by checkLineDevices().
 */
import * as v from 'valibot';
import { deviceCommon, int, num, pointConfirm, pointNameRule, text } from '../../src/config/fields.js';

export const LINE_PARITIES = ['none', 'even', 'odd', 'mark', 'space'] as const;
export const LINE_ENCODINGS = ['ascii', 'utf8', 'latin1'] as const;
export const LINE_POINT_TYPES = ['int', 'float', 'bool', 'enum', 'string'] as const;
/** Names for the common delimiters, so a YAML quoting slip cannot turn "\n" into backslash-n. */
export const DELIMITER_NAMES = { lf: '\n', crlf: '\r\n', cr: '\r' } as const;

export type LinePointType = (typeof LINE_POINT_TYPES)[number];

export const LinePortSchema = v.strictObject(
  {
    path: text('Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... (a PTY link works too).'),
    baud: v.optional(int(50, 4_000_000, 'Baud rate (bit/s).'), 9600),
    parity: v.optional(v.picklist(LINE_PARITIES, `must be one of ${LINE_PARITIES.join(', ')}`), 'none'),
    data_bits: v.optional(v.picklist([5, 6, 7, 8] as const, 'must be 5, 6, 7 or 8'), 8),
    stop_bits: v.optional(v.picklist([1, 2] as const, 'must be 1 or 2'), 1),
    delimiter: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.minLength(1, 'must not be empty'),
        v.maxLength(8, 'must be at most 8 characters'),
        v.description('End of a line, both directions: lf, crlf, cr or any literal string ("\\n" in double quotes, ";" ...).'),
      ),
      'lf',
    ),
    encoding: v.optional(v.picklist(LINE_ENCODINGS, `must be one of ${LINE_ENCODINGS.join(', ')}`), 'ascii'),
    max_line_length: v.optional(
      int(8, 65_536, 'Longest line kept (bytes, without the delimiter); longer lines are counted and discarded.'),
      256,
    ),
    timeout_ms: v.optional(int(10, 60_000, 'How long a request waits for its answer or acknowledgement (ms).'), 500),
    quiet_ms: v.optional(
      int(0, 10_000, 'Silence after a timeout before the next request (ms); a late answer in it is dropped, not taken for the next one.'),
      100,
    ),
    reconnect_max_ms: v.optional(
      int(100, 600_000, 'Longest pause between attempts to reopen a lost port (ms); the pause doubles from 100 ms.'),
      10_000,
    ),
  },
  'unknown setting',
);

export const LinePointSchema = v.strictObject(
  {
    type: v.pipe(
      v.picklist(LINE_POINT_TYPES, `must be one of ${LINE_POINT_TYPES.join(', ')}`),
      v.description('How the captured text is converted: int, float, bool (1/0, true/false, on/off, yes/no), enum (via `enum`), string.'),
    ),
    command: v.optional(text('Request sent on every poll, e.g. "SPEED?". Points with the same command share one request.')),
    pattern: v.optional(
      text('Regex for the answer to `command`, or for streamed lines without `command`, e.g. "^SPEED=(-?\\d+)$".'),
    ),
    group: v.optional(
      v.union(
        [int(1, 99, 'capture group number'), v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a group name'))],
        'must be a capture group number or name',
      ),
    ),
    scale: v.optional(num('value = raw * scale + offset (int and float).'), 1),
    offset: v.optional(num('value = raw * scale + offset (int and float).'), 0),
    decimals: v.optional(int(0, 12, 'Digits after the decimal point when a float is written.')),
    true_text: v.optional(text('What a bool true is written as (reading accepts it too).'), '1'),
    false_text: v.optional(text('What a bool false is written as (reading accepts it too).'), '0'),
    enum: v.optional(
      v.record(v.string(), text('label for this raw text'), 'must map raw texts to labels, e.g. {"0": stopped, "1": running}'),
    ),
    unit: v.optional(text('Engineering unit shown to users, e.g. rpm, °C, kg.')),
    access: v.optional(v.picklist(['r', 'rw'] as const, 'must be r or rw'), 'r'),
    min: v.optional(num('Smallest value a write may set (engineering units).')),
    max: v.optional(num('Largest value a write may set (engineering units).')),
    write: v.optional(text('Write template; {value} is replaced by the raw text, e.g. "SPEED={value}".')),
    ack: v.optional(
      text('Regex the device answers a write with, e.g. "^OK SPEED=(\\d+)$"; a capture group is taken as the confirmed value.'),
    ),
    readback: v.optional(v.boolean('must be true or false'), true),
    description: v.optional(text('What the point means.')),
    confirm: pointConfirm,
  },
  'unknown setting',
);

export const LineDeviceSchema = v.strictObject(
  {
    ...deviceCommon,
    driver: v.literal('line'),
    port: LinePortSchema,
    offline_after: v.optional(int(1, 1000, 'Consecutive unanswered polls after which the device is marked offline.'), 3),
    stream_timeout_ms: v.optional(
      int(10, 3_600_000, 'A device that only streams is marked offline after this long without a matching line (ms).'),
    ),
    error_pattern: v.optional(text('Regex of the line the device answers a bad request with, e.g. "^ERR (.*)$"; fails the write at once.')),
    points: v.pipe(
      v.record(
        v.pipe(v.string(), pointNameRule),
        LinePointSchema,
        'must map point names to point definitions',
      ),
      v.check((p) => Object.keys(p).length > 0, 'must define at least one point'),
    ),
  },
  'unknown setting',
);

export type LinePortConfig = v.InferOutput<typeof LinePortSchema>;
export type LinePointConfig = v.InferOutput<typeof LinePointSchema>;
export type LineDeviceConfig = v.InferOutput<typeof LineDeviceSchema>;

/** The delimiter as bytes on the wire go: a name (lf, crlf, cr) or the literal string. */
export function delimiterText(delimiter: string): string {
  return Object.hasOwn(DELIMITER_NAMES, delimiter) ? DELIMITER_NAMES[delimiter as keyof typeof DELIMITER_NAMES] : delimiter;
}
