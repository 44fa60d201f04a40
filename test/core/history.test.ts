import { describe, expect, test } from 'vitest';
import { History } from '../../src/core/history.js';
import type { DeviceDiff } from '../../src/core/registry.js';

function diff(device: string, tMs: number, values: DeviceDiff['new_state']): DeviceDiff {
  return { device_id: device, device_type: 'motor', previous_state: {}, new_state: values, changed: true, action: 'poll', seq: 1, timestamp: tMs / 1000 };
}

describe('History', () => {
  test('keeps numeric values per point, oldest first, and ignores booleans, strings and online flips', () => {
    let now = 1_000_000;
    const h = new History({ windowS: 60, resolutionMs: 1000, now: () => now });
    h.record(diff('m1', now, { speed: 100, running: true, mode: 'auto', online: true }));
    now += 2000;
    h.record(diff('m1', now, { speed: 150 }));
    expect(h.read('m1', 'speed')).toEqual({ t: [1000, 1002], v: [100, 150] });
    expect(h.read('m1', 'running')).toEqual({ t: [], v: [] });
    expect(h.read('m1', 'online')).toEqual({ t: [], v: [] });
    expect(h.read('nope', 'speed')).toEqual({ t: [], v: [] });
  });

  test('keeps one sample per resolution slot, the latest value winning', () => {
    const now = 1_000_000;
    const h = new History({ windowS: 60, resolutionMs: 1000, now: () => now + 5000 });
    for (let i = 0; i < 10; i++) h.record(diff('m1', now + i * 100, { current: i }));
    h.record(diff('m1', now + 1000, { current: 42 }));
    expect(h.read('m1', 'current')).toEqual({ t: [1000.9, 1001], v: [9, 42] });
  });

  test('memory is bounded: a point never holds more than the window in slots, however long it runs', () => {
    let now = 0;
    const h = new History({ windowS: 10, resolutionMs: 1000, now: () => now });
    expect(h.capacity).toBe(11);
    for (let i = 0; i < 1000; i++) {
      now = i * 1000;
      h.record(diff('m1', now, { temperature: i }));
    }
    const r = h.read('m1', 'temperature');
    expect(r.v).toEqual([989, 990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
    expect(h.bytes).toBe(11 * 16);
  });

  test('reads only inside the window and after since', () => {
    let now = 100_000;
    const h = new History({ windowS: 30, resolutionMs: 1000, now: () => now });
    for (let s = 0; s < 60; s++) h.record(diff('m1', 100_000 + s * 1000, { v: s }));
    now = 160_000;
    expect(h.read('m1', 'v').v).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
    expect(h.read('m1', 'v', 155).v).toEqual([55, 56, 57, 58, 59]);
    expect(h.read('m1', 'v', 10).v.length).toBe(30);
  });

  test('a clock step backwards starts the point over instead of breaking its order', () => {
    const h = new History({ windowS: 60, resolutionMs: 1000, now: () => 50_000 });
    h.record(diff('m1', 40_000, { v: 1 }));
    h.record(diff('m1', 45_000, { v: 2 }));
    h.record(diff('m1', 30_000, { v: 3 }));
    expect(h.read('m1', 'v')).toEqual({ t: [30], v: [3] });
  });

  test('refuses a window or resolution that makes no sense', () => {
    expect(() => new History({ windowS: 0, resolutionMs: 1000 })).toThrow(/window/);
    expect(() => new History({ windowS: 10, resolutionMs: 0 })).toThrow(/resolution/);
  });
  test('buffers grow with use: a rarely changing point holds little, a busy one fills its window in order', () => {
    let now = 0;
    const h = new History({ windowS: 300, resolutionMs: 1000, now: () => now });
    h.record(diff('m1', 0, { setpoint: 5 }));
    h.record(diff('m1', 60_000, { setpoint: 6 }));
    for (let i = 0; i < 1000; i++) h.record(diff('m2', i * 1000, { current: i }));
    now = 999_000;
    expect(h.read('m1', 'setpoint', 0)).toEqual({ t: [], v: [] }); // both older than the window
    const busy = h.read('m2', 'current');
    expect(busy.v).toEqual(Array.from({ length: 301 }, (_, k) => 699 + k));
    expect(h.bytes).toBe((16 + 301) * 16);
  });

  test('a point that outgrows its first buffer gets its whole window at once, not doubling steps', () => {
    const h = new History({ windowS: 300, resolutionMs: 1000, now: () => 17_000 });
    for (let i = 0; i < 17; i++) h.record(diff('m1', i * 1000, { current: i }));
    expect(h.bytes).toBe(301 * 16);
    expect(h.read('m1', 'current', 0).v).toEqual(Array.from({ length: 17 }, (_, k) => k));
  });
});
