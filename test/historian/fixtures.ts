/**
 * A simulated plant on a test clock: the real simulator driver and registry feed a real
 * historian in a temp directory, while the test keeps every sample it saw to check the store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import pino from 'pino';
import * as v from 'valibot';
import { Registry, type DeviceDiff } from '../../src/core/registry.js';
import { SimulatorDriver } from '../../drivers/simulator/index.js';
import { SimulatorDeviceSchema } from '../../drivers/simulator/config.js';
import { Historian, isKept, storedValue } from '../../src/historian/historian.js';
import { HistoryStoreSchema, type HistoryStoreConfig } from '../../src/historian/config.js';
import { qualityCode } from '../../src/historian/format.js';

export interface Kept {
  t: number;
  v: number;
  q: number;
}

export const silent = pino({ level: 'silent' });

export function storeConfig(over: Partial<HistoryStoreConfig> = {}): HistoryStoreConfig {
  return v.parse(HistoryStoreSchema, { fsync: false, ...over });
}

export class Plant {
  readonly registry: Registry;
  readonly driver: SimulatorDriver;
  /** device -> point -> every sample the registry published, as the store should keep it. */
  readonly kept = new Map<string, Map<string, Kept[]>>();
  historian: Historian;

  constructor(
    readonly dir: string,
    readonly config: HistoryStoreConfig,
    devices = [
      { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 1000 },
      { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 1000 },
    ],
  ) {
    this.registry = new Registry({ replaySize: 10, now: () => Date.now() });
    this.driver = new SimulatorDriver({
      devices: devices.map((d) => v.parse(SimulatorDeviceSchema, d)),
      ctx: {
        log: silent,
        sink: {
          report: (id, values, action, quality) => this.registry.apply(id, values, action, quality),
          setOnline: (id, online) => this.registry.setOnline(id, online),
        },
      },
    });
    for (const d of this.driver.devices()) this.registry.add(d);
    this.registry.onDiff((diff) => this.keep(diff));
    this.historian = this.newHistorian();
    this.registry.onDiff((diff) => this.historian.onDiff(diff));
  }

  newHistorian(): Historian {
    return new Historian({ dir: this.dir, config: this.config, registry: this.registry, log: silent, timer: false });
  }

  private keep(diff: DeviceDiff): void {
    const desc = this.registry.descriptor(diff.device_id)!;
    const state = this.registry.snapshot(diff.device_id)!.state;
    const names = new Set([...Object.keys(diff.new_state), ...Object.keys(diff.quality ?? {})]);
    for (const name of names) {
      const meta = desc.points[name];
      if (meta === undefined || !isKept(meta)) continue;
      const value = Object.hasOwn(diff.new_state, name) ? diff.new_state[name]! : state[name];
      if (value === undefined || value === null) continue;
      const sv = storedValue(meta, value);
      if (sv === undefined) continue;
      let d = this.kept.get(diff.device_id);
      if (d === undefined) this.kept.set(diff.device_id, (d = new Map()));
      let list = d.get(name);
      if (list === undefined) d.set(name, (list = []));
      list.push({ t: diff.timestamp * 1000, v: sv, q: qualityCode(diff.quality?.[name] ?? 'good') });
    }
  }

  /** Runs the plant for `ms` of simulated time, flushing the store every `flushMs`. */
  async run(ms: number, flushMs = 5000): Promise<void> {
    for (let done = 0; done < ms; done += flushMs) {
      vi.advanceTimersByTime(Math.min(flushMs, ms - done));
      await this.historian.store.flush();
    }
  }
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mgw-history-'));
}
