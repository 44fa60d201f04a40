/**
 * `history.store`: the history kept on disk in `<state_dir>/history/`. Sizes are for an SD card:
 * raw samples for days, minute buckets for months, hour buckets for years, all under one cap.
 */
import * as v from 'valibot';
import { int } from '../config/fields.js';
import { DEVICE_ID_CHARS } from '../protocol/names.js';

/** `device` or `device.point`: what `exclude` may name. */
const exclusion = v.pipe(
  v.string('must be a string'),
  v.regex(new RegExp(`^${DEVICE_ID_CHARS}(\\.[^.\\s]{1,64})?$`), 'must be a device id or device.point, e.g. motor_01 or motor_01.vibration'),
);

export const HistoryStoreSchema = v.strictObject(
  {
    enabled: v.optional(v.boolean('must be true or false'), true),
    raw_days: v.optional(int(0, 3650, 'Days raw samples are kept (every change, deadband applied). 0 keeps none on disk.'), 7),
    minute_days: v.optional(int(0, 3650, 'Days the per-minute min/max/mean/last/count are kept.'), 90),
    hour_days: v.optional(int(0, 36_500, 'Days the per-hour min/max/mean/last/count are kept.'), 730),
    max_mb: v.optional(int(1, 1_048_576, 'Size cap of the whole store (MiB); wins over every retention: oldest segments go first, raw before minute before hour.'), 1024),
    flush_s: v.optional(int(1, 3600, 'Seconds samples wait in memory before one batch is written (a power cut loses at most this much).'), 5),
    flush_samples: v.optional(int(1, 10_000_000, 'Samples waiting that start a batch before flush_s is up.'), 20_000),
    fsync: v.optional(v.boolean('must be true or false'), true),
    exclude: v.optional(v.array(exclusion, 'must be a list of device ids or device.point names'), []),
    max_rows: v.optional(int(100, 10_000_000, 'Rows (samples or buckets, all points together) one history request may return; more is refused with history_limit.'), 200_000),
    max_raw_span_h: v.optional(int(1, 24 * 3650, 'Hours one request for raw samples may span; use max_points or resolution 1m/1h beyond.'), 24),
  },
  'unknown setting',
);

export type HistoryStoreConfig = v.InferOutput<typeof HistoryStoreSchema>;
