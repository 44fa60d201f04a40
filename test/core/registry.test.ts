import { describe, expect, it } from 'vitest';
import { Registry, type DeviceDiff } from '../../src/core/registry.js';
import type { PointMap } from '../../src/core/points.js';

const POINTS: PointMap = {
  speed: { type: 'integer', access: 'rw', min: 0, max: 3000 },
  temperature: { type: 'number', access: 'r' },
};

function registry(replaySize = 4) {
  let t = 1_000_000;
  const r = new Registry({ replaySize, now: () => (t += 10) });
  r.add({ id: 'm1', name: 'M1', device_type: 'motor', driver: 'test', points: POINTS });
  const diffs: DeviceDiff[] = [];
  r.onDiff((d) => diffs.push(d));
  return { r, diffs };
}

describe('Registry', () => {
  it('publishes the first reading with the online transition folded in', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    expect(diffs).toHaveLength(1);
    expect(diffs[0]).toMatchObject({
      device_id: 'm1',
      device_type: 'motor',
      previous_state: { speed: null, temperature: null, online: false },
      new_state: { speed: 100, temperature: 20, online: true },
      changed: true,
      action: 'poll',
      seq: 1,
    });
  });

  it('publishes nothing when no value changed', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    expect(r.apply('m1', { speed: 100, temperature: 20 }, 'poll')).toBeNull();
    expect(diffs).toHaveLength(1);
    expect(r.seq('m1')).toBe(1);
  });

  it('puts only the changed points in a diff and increments seq by one', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    r.apply('m1', { speed: 150, temperature: 20 }, 'device_control');
    expect(diffs[1]).toMatchObject({ previous_state: { speed: 100 }, new_state: { speed: 150 }, action: 'device_control', seq: 2 });
    expect(Object.keys(diffs[1]!.new_state)).toEqual(['speed']);
    expect(r.snapshot('m1')!.state).toEqual({ speed: 150, temperature: 20 });
  });

  it('publishes online and offline transitions once each', () => {
    const { r, diffs } = registry();
    r.apply('m1', { speed: 1 }, 'poll');
    expect(r.setOnline('m1', false)).not.toBeNull();
    expect(r.setOnline('m1', false)).toBeNull();
    expect(diffs.at(-1)).toMatchObject({ previous_state: { online: true }, new_state: { online: false }, action: 'status', seq: 2 });
    r.apply('m1', { speed: 1 }, 'poll');
    expect(diffs.at(-1)).toMatchObject({ new_state: { online: true }, seq: 3 });
  });

  it('replays the diffs after a seq while the ring holds them, and refuses when it does not', () => {
    const { r } = registry(4);
    for (let i = 1; i <= 6; i++) r.apply('m1', { speed: i }, 'poll');
    expect(r.seq('m1')).toBe(6);
    expect(r.since('m1', 6)).toEqual([]);
    expect(r.since('m1', 4)!.map((d) => d.seq)).toEqual([5, 6]);
    expect(r.since('m1', 2)!.map((d) => d.seq)).toEqual([3, 4, 5, 6]);
    expect(r.since('m1', 1)).toBeNull(); // seq 2 already overwritten
    expect(r.since('m1', 7)).toBeNull(); // from the future: another instance
  });

  it('replays every diff exactly as it was published: fields, order, values, qualities', () => {
    let t = 1_000_000;
    const r = new Registry({ replaySize: 8, now: () => (t += 7) });
    const points: PointMap = { ...POINTS, mode: { type: 'string', access: 'rw' }, run: { type: 'boolean', access: 'rw' } };
    r.add({ id: 'm1', name: 'M1', device_type: 'motor', driver: 'test', points });
    const published: DeviceDiff[] = [];
    r.onDiff((d) => published.push(d));
    r.apply('m1', { speed: 100, temperature: 20.25, mode: 'auto', run: true }, 'poll'); // nulls before, online folded in
    r.apply('m1', { speed: 101, temperature: 20.5 }, 'poll');
    r.apply('m1', { temperature: 20.75, speed: 102 }, 'poll'); // same points, other order
    r.apply('m1', { run: false }, 'device_control');
    r.apply('m1', {}, 'poll', { speed: 'bad' }); // a quality-only diff: empty new_state
    r.setOnline('m1', false); // online transition, good points stale
    r.apply('m1', { speed: 103 }, 'poll');
    for (let i = 0; i < 6; i++) r.apply('m1', { speed: 200 + i, temperature: i + 0.5 }, 'poll'); // the ring wraps
    const held = published.slice(-8);
    const replayed = r.since('m1', held[0]!.seq - 1)!;
    expect(replayed).toEqual(held);
    // Serialized the same: what a resuming client reads is byte for byte what it missed.
    expect(replayed.map((d) => JSON.stringify(d))).toEqual(held.map((d) => JSON.stringify(d)));
    const early = new Registry({ replaySize: 8, now: () => 5 });
    early.add({ id: 'm1', name: 'M1', device_type: 'motor', driver: 'test', points });
    const first: DeviceDiff[] = [];
    early.onDiff((d) => first.push(d));
    early.apply('m1', { speed: 1, mode: 'x' }, 'poll');
    early.apply('m1', {}, 'poll', { speed: 'bad' });
    early.setOnline('m1', false);
    expect(JSON.stringify(early.since('m1', 0))).toBe(JSON.stringify(first));
  });

  it('refuses points the device does not declare', () => {
    const { r } = registry();
    expect(() => r.apply('m1', { bogus: 1 }, 'poll')).toThrow(/no point "bogus"/);
  });
});
