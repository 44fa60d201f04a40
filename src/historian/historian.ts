/**
 * The historian: a consumer of registry diffs that keeps every numeric and discrete point's
 * changes in the history store, with its quality. Booleans are kept as 0/1 and enums as the
 * index of their label; strings are not kept. A quality change without a new value (a device
 * gone offline, a read that failed) is kept as a sample of the last value with its new quality,
 * so a trend can tell the span where the value was stale from the span where it was good.
 *
 * It has no `forget`: a device a reload removes keeps its history on disk, and what waits for
 * it is still written.
 */
import type { Logger } from 'pino';
import type { ConsumerHealth, DiffConsumer } from '../core/consumer.js';
import type { PointMeta, PointValue, Quality } from '../core/points.js';
import type { DeviceDiff, Registry } from '../core/registry.js';
import { qualityCode } from './format.js';
import { HistoryStore, type Tier } from './store.js';
import type { HistoryStoreConfig } from './config.js';

export interface HistorianOptions {
  dir: string;
  config: HistoryStoreConfig;
  registry: Registry;
  log: Logger;
  /** Clock in ms; injectable for tests that run days in seconds. */
  now?: () => number;
  /** Set false to flush only when asked (tests with a simulated clock). */
  timer?: boolean;
}

const DAY_MS = 86_400_000;

/** Stored value of a point, or undefined for one that is not kept (strings, nulls). */
export function storedValue(meta: PointMeta, value: PointValue | boolean): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (meta.type === 'enum' && typeof value === 'string') {
    const i = (meta.enum ?? []).indexOf(value);
    return i >= 0 ? i : undefined;
  }
  return undefined;
}

export function isKept(meta: PointMeta): boolean {
  return meta.type === 'number' || meta.type === 'integer' || meta.type === 'boolean' || meta.type === 'enum';
}

export class Historian implements DiffConsumer {
  readonly name = 'historian';
  readonly store: HistoryStore;
  private timer: NodeJS.Timeout | undefined;
  private readonly excludedDevices = new Set<string>();
  private readonly excludedPoints = new Set<string>();
  private readonly now: () => number;

  get config(): HistoryStoreConfig {
    return this.options.config;
  }

  constructor(private readonly options: HistorianOptions) {
    const c = options.config;
    this.now = options.now ?? Date.now;
    this.store = new HistoryStore({
      dir: options.dir,
      retentionMs: { raw: c.raw_days * DAY_MS, '1m': c.minute_days * DAY_MS, '1h': c.hour_days * DAY_MS },
      maxBytes: c.max_mb * 1024 * 1024,
      fsync: c.fsync,
      now: this.now,
      log: options.log,
    });
    for (const e of c.exclude) {
      this.excludedDevices.add(e);
      this.excludedPoints.add(e);
    }
  }

  private disabled: string | undefined;

  async start(): Promise<void> {
    try {
      this.store.open();
    } catch (err) {
      // The gateway's live job goes on without history; health, /readyz and the log say why.
      this.disabled = (err as Error).message;
      this.options.log.error({ err, dir: this.options.dir }, 'history store cannot open; history is not kept');
      return;
    }
    const known = new Set(this.options.registry.ids());
    for (const e of this.options.config.exclude) {
      const device = known.has(e) ? e : e.slice(0, e.lastIndexOf('.'));
      if (!known.has(device)) this.options.log.warn({ exclude: e }, 'history.store.exclude names no known device');
    }
    if (this.options.timer !== false) {
      this.timer = setInterval(() => void this.store.flush(), this.options.config.flush_s * 1000);
      this.timer.unref();
    }
    const c = this.store.counters;
    this.options.log.info(
      { dir: this.options.dir, bytes: this.store.bytes, scanned_bytes: c.recovered_scan_bytes, from_checkpoint: c.recovered_from_checkpoint, rebuild_read_bytes: c.rebuild_read_bytes },
      'history store open',
    );
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.disabled === undefined) await this.store.close();
  }

  onDiff(diff: DeviceDiff): void {
    const id = diff.device_id;
    if (this.disabled !== undefined || this.excludedDevices.has(id)) return;
    const desc = this.options.registry.descriptor(id);
    if (desc === undefined) return;
    const t = diff.timestamp * 1000;
    const qualities = diff.quality;
    for (const name in diff.new_state) {
      const meta = desc.points[name];
      if (meta === undefined || this.excludedPoints.has(`${id}.${name}`)) continue;
      const v = storedValue(meta, diff.new_state[name]!);
      if (v === undefined) continue;
      this.store.add(id, name, t, v, qualityCode(qualities?.[name] ?? 'good'));
    }
    if (qualities !== undefined) {
      let state: Record<string, PointValue> | undefined;
      for (const name in qualities) {
        if (Object.hasOwn(diff.new_state, name)) continue;
        const meta = desc.points[name];
        if (meta === undefined || this.excludedPoints.has(`${id}.${name}`)) continue;
        state ??= this.options.registry.snapshot(id)?.state ?? {};
        const value = state[name];
        if (value === undefined || value === null) continue;
        const v = storedValue(meta, value);
        if (v !== undefined) this.store.add(id, name, t, v, qualityCode(qualities[name] as Quality));
      }
    }
    if (this.store.pendingSamples >= this.options.config.flush_samples) void this.store.flush();
  }

  health(): ConsumerHealth {
    const s = this.store;
    const oldest = (tier: Tier) => {
      const t = s.oldest(tier);
      return t === null ? 0 : t / 1000;
    };
    if (this.disabled !== undefined) return { ok: false, reason: `history store cannot open: ${this.disabled}` };
    const health: ConsumerHealth = {
      ok: s.lastError === undefined,
      counters: {
        ...s.counters,
        pending_samples: s.pendingSamples,
        store_bytes: s.bytes,
        raw_bytes: s.tierBytes('raw'),
        minute_bytes: s.tierBytes('1m'),
        hour_bytes: s.tierBytes('1h'),
        bytes_written_last_minute: s.bytesLastMinute(),
        oldest_raw_s: oldest('raw'),
        oldest_minute_s: oldest('1m'),
        oldest_hour_s: oldest('1h'),
      },
    };
    if (s.lastError !== undefined) health.reason = `history store cannot write: ${s.lastError}`;
    return health;
  }
}
