/**
 * The Prometheus rendering on its own (one layer, a stand-in driver): per-device counters of a
 * bus driver become a `device` label, label values are escaped, and the output parses.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from '../../src/core/registry.js';
import type { Driver } from '../../src/core/driver.js';
import { newStats, type ServerContext } from '../../src/server/context.js';
import { renderMetrics } from '../../src/server/metrics.js';
import { HealthMonitor } from '../../src/platform/watchdog.js';

function bus(id: string, counters: Record<string, number>, lastProgress: number | null): Driver {
  return {
    id,
    devices: () => [],
    start: async () => undefined,
    stop: async () => undefined,
    write: async () => ({}),
    health: () => ({ lastProgress, counters }),
  };
}

describe('Prometheus text', () => {
  it('labels per-device driver counters with the device and escapes label values', () => {
    const registry = new Registry({ replaySize: 10 });
    registry.add({ id: 'pump"1', name: 'p', device_type: 'pump', driver: 'modbus:line1', points: {} });
    const drivers = [bus('modbus:line1', { answered: 42, rtt_ms_sum: 840, rtt_count: 42, 'device:pump"1:timeouts': 3 }, Date.now() - 2000)];
    const ctx = { registry, stats: newStats() } as unknown as ServerContext;
    const health = new HealthMonitor({ config: () => ({ max_event_loop_delay_ms: 2000, driver_stall_s: 120 }), drivers: () => drivers });
    health.start();
    try {
      const text = renderMetrics(ctx, { drivers: () => drivers, health, startedAt: Date.now(), reload: () => undefined });
      expect(text).toContain('mgw_driver_stat{driver="modbus:line1",name="rtt_ms_sum"} 840\n');
      expect(text).toContain('mgw_driver_stat{driver="modbus:line1",device="pump\\"1",name="timeouts"} 3\n');
      expect(text).toContain('mgw_device_online{device="pump\\"1"} 0\n');
      expect(text).toMatch(/mgw_driver_last_progress_age_seconds\{driver="modbus:line1"\} (1\.9|2)\d*/);
      const names = text.split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
      expect(new Set(names).size).toBe(names.length);
    } finally {
      health.stop();
    }
  });
});

describe('health', () => {
  it('gives a driver added later its own grace period and flags one that stopped progressing', () => {
    let now = 1_000_000;
    let progress: number | null = null;
    const drivers: Driver[] = [];
    const device = { id: 'd', name: 'd', device_type: 't', driver: 'x', points: {} };
    const withDevice = (d: Driver): Driver => ({ ...d, devices: () => [device] });
    const monitor = new HealthMonitor({ config: () => ({ max_event_loop_delay_ms: 60_000, driver_stall_s: 10 }), drivers: () => drivers, now: () => now });
    monitor.start();
    try {
      expect(monitor.check().healthy).toBe(true);
      now += 200_000; // long after start, a reload adds a bus that has not answered yet
      drivers.push(withDevice(bus('modbus:new', {}, null)), withDevice({ ...bus('modbus:live', {}, null), health: () => ({ lastProgress: progress }) }));
      expect(monitor.check()).toMatchObject({ healthy: true, problems: [] });
      now += 5_000;
      progress = now;
      expect(monitor.check().healthy).toBe(true);
      now += 11_000;
      expect(monitor.check().problems).toEqual([
        'driver modbus:new made no progress for 16 s (limit 10 s)',
        'driver modbus:live made no progress for 11 s (limit 10 s)',
      ]);
    } finally {
      monitor.stop();
    }
  });
});
