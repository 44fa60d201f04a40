/**
 * The client's sequencing rules, one layer alone: duplicates dropped, gaps detected once and
 * held back until the re-subscription answers, reachability folded into the diff.
 */
import { describe, expect, it } from 'vitest';
import { DeviceStore, backoffDelay, type DeviceUpdateMessage, type DeviceView } from '../../src/client/index.js';

const view = (seq: number): DeviceView => ({
  device_id: 'm1',
  device_type: 'motor',
  name: 'm1',
  state: { speed: 0 },
  online: true,
  last_update: 100,
  seq,
  points: { speed: { type: 'integer', access: 'rw' } },
});

const update = (seq: number, newState: Record<string, unknown>, action: DeviceUpdateMessage['data']['action'] = 'poll'): DeviceUpdateMessage => ({
  type: 'device_update',
  device_id: 'm1',
  seq,
  timestamp: 200 + seq,
  data: { device_id: 'm1', device_type: 'motor', previous_state: {}, new_state: newState as Record<string, number>, changed: true, action },
});

describe('DeviceStore', () => {
  it('applies seq + 1 and drops what it already applied', () => {
    const s = new DeviceStore();
    s.replace(view(5));
    expect(s.apply(update(6, { speed: 10 })).kind).toBe('applied');
    expect(s.apply(update(6, { speed: 99 })).kind).toBe('duplicate');
    expect(s.apply(update(3, { speed: 99 })).kind).toBe('duplicate');
    expect(s.get('m1')).toMatchObject({ seq: 6, state: { speed: 10 }, last_update: 206 });
  });

  it('reports a gap once, holds back what does not fit, and applies the replay in order', () => {
    const s = new DeviceStore();
    s.replace(view(5));
    expect(s.apply(update(8, { speed: 8 }))).toEqual({ kind: 'gap', expected: 6, got: 8 });
    expect(s.apply(update(9, { speed: 9 })).kind).toBe('held');
    expect(s.isResyncing('m1')).toBe(true);
    for (const n of [6, 7, 8, 9]) expect(s.apply(update(n, { speed: n })).kind).toBe('applied');
    expect(s.get('m1')).toMatchObject({ seq: 9, state: { speed: 9 } });
    s.clearResyncing('m1');
    expect(s.apply(update(11, {})).kind).toBe('gap');
  });

  it('a snapshot replaces the device and ends a resync', () => {
    const s = new DeviceStore();
    s.replace(view(5));
    s.apply(update(9, {}));
    s.replace({ ...view(20), state: { speed: 42 } });
    expect(s.isResyncing('m1')).toBe(false);
    expect(s.apply(update(21, { speed: 43 })).kind).toBe('applied');
  });

  it('folds `online` into reachability, and a bare status change keeps last_update', () => {
    const s = new DeviceStore();
    s.replace(view(1));
    const out = s.apply(update(2, { online: false }, 'status'));
    expect(out).toMatchObject({ kind: 'applied', onlineChanged: true });
    expect(s.get('m1')).toMatchObject({ online: false, last_update: 100, state: { speed: 0 } });
    expect(s.get('m1')!.state).not.toHaveProperty('online');
  });

  it('ignores devices it does not follow', () => {
    expect(new DeviceStore().apply(update(1, {})).kind).toBe('unknown');
  });
});

describe('backoffDelay', () => {
  it('grows by the factor up to the maximum, with jitter taking off at most its share', () => {
    const o = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, o, () => 0.999999)).toBe(200);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, o);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});
