import { describe, expect, it } from 'vitest';
import { Registry, type DeviceDiff } from '../../src/core/registry.js';
import type { PointMap } from '../../src/core/points.js';

const POINTS: PointMap = {
  speed: { type: 'integer', access: 'rw', min: 0, max: 3000 },
  temperature: { type: 'number', access: 'r' },
};

function registry() {
  let t = 1_000_000;
  const r = new Registry({ replaySize: 8, now: () => (t += 10) });
  r.add({ id: 'm1', name: 'M1', device_type: 'motor', driver: 'test', points: POINTS });
  const diffs: DeviceDiff[] = [];
  r.onDiff((d) => diffs.push(d));
  return { r, diffs };
}

describe('Registry quality', () => {
  it('a point read for the first time is good, and the diff says so', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    expect(diffs[0]!.quality).toEqual({ speed: 'good', temperature: 'good' });
    expect(r.snapshot('m1')!.quality).toEqual({ speed: 'good', temperature: 'good' });
  });

  it('a failed read makes its points stale, keeping the last good value and its time', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    const before = r.snapshot('m1')!.last_update;
    const d = r.apply('m1', {}, 'poll', { temperature: 'stale' });
    expect(d).toMatchObject({ new_state: {}, quality: { temperature: 'stale' } });
    const s = r.snapshot('m1')!;
    expect(s.state).toEqual({ speed: 100, temperature: 20 });
    expect(s.quality).toEqual({ speed: 'good', temperature: 'stale' });
    expect(s.last_update).toBe(before);
    expect(diffs).toHaveLength(2);
  });

  it('an unchanged value read again turns a stale point good (a quality-only diff)', () => {
    const { r } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    r.apply('m1', {}, 'poll', { temperature: 'stale' });
    const d = r.apply('m1', {}, 'poll', { speed: 'good', temperature: 'good' });
    expect(d).toMatchObject({ new_state: {}, quality: { temperature: 'good' } });
    expect(r.apply('m1', {}, 'poll', { speed: 'good', temperature: 'good' })).toBeNull();
  });

  it('a point the device refuses is bad even before it ever had a value', () => {
    const { r } = registry();
    r.apply('m1', { speed: 1 }, 'poll', { temperature: 'bad' });
    expect(r.snapshot('m1')!.quality).toEqual({ speed: 'good', temperature: 'bad' });
    expect(r.snapshot('m1')!.state).toEqual({ speed: 1 });
  });

  it('going offline makes every good point stale in the same diff; bad stays bad', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 100 }, 'poll', { temperature: 'bad' });
    r.setOnline('m1', false);
    expect(diffs.at(-1)).toMatchObject({ new_state: { online: false }, quality: { speed: 'stale' }, action: 'status' });
    expect(r.snapshot('m1')!.quality).toEqual({ speed: 'stale', temperature: 'bad' });
  });

  it('a read that only reports stale points does not bring an offline device online', () => {
    const { r } = registry();
    r.apply('m1', { speed: 100 }, 'poll');
    r.setOnline('m1', false);
    expect(r.apply('m1', {}, 'poll', { speed: 'stale' })).toBeNull();
    expect(r.snapshot('m1')!.online).toBe(false);
  });

  it('a device back online publishes its good points with the online transition', () => {
    const { r } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    r.setOnline('m1', false);
    const d = r.apply('m1', { speed: 101 }, 'poll', { temperature: 'good' });
    expect(d).toMatchObject({ new_state: { speed: 101, online: true }, quality: { speed: 'good', temperature: 'good' } });
  });

  it('replays quality changes to a resuming client like value changes', () => {
    const { r } = registry();
    r.apply('m1', { speed: 100 }, 'poll');
    r.apply('m1', {}, 'poll', { speed: 'stale' });
    expect(r.since('m1', 1)).toEqual([expect.objectContaining({ seq: 2, quality: { speed: 'stale' } })]);
  });

  it('refuses a quality for a point the device does not have (driver bug)', () => {
    const { r } = registry();
    expect(() => r.apply('m1', {}, 'poll', { nope: 'bad' })).toThrow(/no point "nope"/);
  });
});
