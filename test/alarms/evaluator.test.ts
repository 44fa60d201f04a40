/**
 * The evaluator as a consumer of a real registry's diffs, with the table behind it: limits with
 * deadband, on/off delays as timers (fake timers), quality holds, offline, shelve expiry.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { Registry } from '../../src/core/registry.js';
import { AlarmTable } from '../../src/alarms/table.js';
import { AlarmEvaluator } from '../../src/alarms/evaluator.js';
import { buildDefinitions, type AlarmDeviceInput } from '../../src/alarms/definitions.js';
import type { AlarmEvent } from '../../src/protocol/alarms.js';
import * as v from 'valibot';
import { DeviceAlarmsSchema, type DeviceAlarmsInput } from '../../src/alarms/config.js';
import type { PointMap } from '../../src/core/points.js';

const POINTS: PointMap = {
  current: { type: 'number', access: 'r', unit: 'A', min: 0, max: 20 },
  fault: { type: 'boolean', access: 'r' },
  code: { type: 'enum', access: 'r', enum: ['none', 'overcurrent', 'overheat'] },
};

function setup(alarms: DeviceAlarmsInput, graceMs = 60_000, now?: () => number) {
  const registry = new Registry({ replaySize: 10 });
  registry.add({ id: 'm1', name: 'Motor 1', device_type: 'motor', driver: 'sim', points: POINTS });
  const input: AlarmDeviceInput = { id: 'm1', name: 'Motor 1', index: 0, points: POINTS, alarms: v.parse(DeviceAlarmsSchema, alarms), poll_interval_ms: 100 };
  const { definitions, problems } = buildDefinitions([input]);
  expect(problems).toEqual([]);
  const table = new AlarmTable({ maxShelveS: 3600, ...(now === undefined ? {} : { now }) });
  table.load(definitions);
  const evaluator = new AlarmEvaluator({ registry, table, startupGraceMs: () => graceMs });
  evaluator.setDefinitions(definitions);
  registry.onDiff((d) => evaluator.onDiff(d));
  const events: AlarmEvent[] = [];
  table.onEvent((e) => events.push(e));
  const state = (id: string) => table.view(id)!.state;
  return { registry, table, evaluator, events, state };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('limits', () => {
  test('a diff that crosses the limit raises the alarm in the same tick, with the value', () => {
    const { registry, events, state } = setup({ points: { current: { hi: 12 } } });
    registry.apply('m1', { current: 11 }, 'poll');
    expect(events).toEqual([]);
    registry.apply('m1', { current: 12.5 }, 'poll');
    expect(state('m1.current.hi')).toBe('active_unack');
    expect(events[0]).toMatchObject({ alarm_id: 'm1.current.hi', transition: 'raise', value: 12.5, limit: 12, unit: 'A', priority: 'medium', from: 'normal', to: 'active_unack', seq: 1 });
  });

  test('the journal time of a transition is the last change of the alarm, however often the clock is read', () => {
    let clock = 1_000_000;
    const { registry, table, events } = setup({ points: { current: { hi: 12 } } }, 60_000, () => (clock += 1));
    registry.apply('m1', { current: 12.5 }, 'poll');
    registry.apply('m1', { current: 10 }, 'poll');
    expect(events.map((e) => e.transition)).toEqual(['raise', 'clear']);
    const view = table.view('m1.current.hi')!;
    expect(events[1]!.time).toBe(view.last_change);
    registry.apply('m1', { current: 13 }, 'poll');
    expect(events[2]!.time).toBe(table.view('m1.current.hi')!.active_since);
  });

  test('a value chattering inside the deadband raises nothing more and does not clear', () => {
    const { registry, events, state } = setup({ points: { current: { hi: 12, deadband: 1 } } });
    registry.apply('m1', { current: 12.2 }, 'poll');
    for (const x of [11.5, 12.1, 11.2, 12.4, 11.01]) registry.apply('m1', { current: x }, 'poll');
    expect(events.map((e) => e.transition)).toEqual(['raise']);
    expect(state('m1.current.hi')).toBe('active_unack');
    registry.apply('m1', { current: 10.9 }, 'poll');
    expect(events.map((e) => e.transition)).toEqual(['raise', 'clear']);
    expect(state('m1.current.hi')).toBe('rtn_unack');
  });

  test('without a deadband the same chatter raises and clears each time (the deadband is what holds)', () => {
    const { registry, events } = setup({ points: { current: { hi: 12 } } });
    for (const x of [12.2, 11.5, 12.1, 11.2]) registry.apply('m1', { current: x }, 'poll');
    expect(events.map((e) => e.transition)).toEqual(['raise', 'clear', 'raise', 'clear']);
  });

  test('lo and lolo use the other side, and each limit is its own alarm', () => {
    const { registry, state } = setup({ points: { current: { lolo: 1, lo: 2, hi: 12, hihi: 15, deadband: 0.5 } } });
    registry.apply('m1', { current: 1.5 }, 'poll');
    expect(state('m1.current.lo')).toBe('active_unack');
    expect(state('m1.current.lolo')).toBe('normal');
    registry.apply('m1', { current: 0.5 }, 'poll');
    expect(state('m1.current.lolo')).toBe('active_unack');
    registry.apply('m1', { current: 2.4 }, 'poll');
    expect(state('m1.current.lo')).toBe('active_unack'); // inside lo + deadband
    expect(state('m1.current.lolo')).toBe('rtn_unack');
    registry.apply('m1', { current: 16 }, 'poll');
    expect(state('m1.current.hi')).toBe('active_unack');
    expect(state('m1.current.hihi')).toBe('active_unack');
    expect(state('m1.current.lo')).toBe('rtn_unack');
  });

  test('an on-delay suppresses a spike shorter than it and raises on a longer one', () => {
    const { registry, events, state } = setup({ points: { current: { hi: 12, on_delay_ms: 2000 } } });
    registry.apply('m1', { current: 13 }, 'poll');
    vi.advanceTimersByTime(1500);
    registry.apply('m1', { current: 11 }, 'poll');
    vi.advanceTimersByTime(5000);
    expect(events).toEqual([]);
    registry.apply('m1', { current: 13 }, 'poll');
    vi.advanceTimersByTime(1999);
    expect(state('m1.current.hi')).toBe('normal');
    registry.apply('m1', { current: 13.5 }, 'poll'); // still above: the delay keeps running
    vi.advanceTimersByTime(1);
    expect(state('m1.current.hi')).toBe('active_unack');
    expect(events[0]).toMatchObject({ transition: 'raise', value: 13.5 });
  });

  test('an off-delay keeps the alarm until the value stayed back inside for that long', () => {
    const { registry, events } = setup({ points: { current: { hi: 12, off_delay_ms: 1000 } } });
    registry.apply('m1', { current: 13 }, 'poll');
    registry.apply('m1', { current: 10 }, 'poll');
    vi.advanceTimersByTime(900);
    registry.apply('m1', { current: 12.5 }, 'poll');
    vi.advanceTimersByTime(2000);
    expect(events.map((e) => e.transition)).toEqual(['raise']);
    registry.apply('m1', { current: 10 }, 'poll');
    vi.advanceTimersByTime(1000);
    expect(events.map((e) => e.transition)).toEqual(['raise', 'clear']);
  });
});

describe('discrete', () => {
  test('a fault bit and a fault code, each code its own alarm with its text', () => {
    const { registry, state, events } = setup({
      points: { fault: { discrete: { when: true, message: 'Drive fault' } }, code: { codes: { overcurrent: { message: 'Overcurrent trip' }, overheat: { priority: 'critical' } } } },
    });
    registry.apply('m1', { fault: true, code: 'overcurrent' }, 'poll');
    expect(state('m1.fault.discrete')).toBe('active_unack');
    expect(state('m1.code.overcurrent')).toBe('active_unack');
    expect(events.find((e) => e.alarm_id === 'm1.code.overcurrent')!.message).toBe('Overcurrent trip');
    registry.apply('m1', { code: 'overheat' }, 'poll');
    expect(state('m1.code.overcurrent')).toBe('rtn_unack');
    expect(state('m1.code.overheat')).toBe('active_unack');
  });
});

describe('quality', () => {
  test('a bad reading holds the limit alarm (neither raises nor clears) and raises the quality alarm', () => {
    const { registry, state, events } = setup({ points: { current: { hi: 12, on_delay_ms: 1000 } } });
    registry.apply('m1', { current: 5 }, 'poll');
    registry.apply('m1', { current: 13 }, 'poll'); // on-delay running
    registry.apply('m1', {}, 'poll', { current: 'bad' });
    vi.advanceTimersByTime(5000);
    expect(state('m1.current.hi')).toBe('normal'); // the pending raise was cancelled
    expect(state('m1.current.quality')).toBe('active_unack');
    expect(events.map((e) => `${e.alarm_id}:${e.transition}`)).toEqual(['m1.current.quality:raise']);
    // Good again, same value: the alarms are evaluated afresh from what the registry holds.
    registry.apply('m1', { current: 13 }, 'poll');
    expect(state('m1.current.quality')).toBe('rtn_unack');
    vi.advanceTimersByTime(1000);
    expect(state('m1.current.hi')).toBe('active_unack');
  });

  test('an active limit alarm stays active while the reading is stale', () => {
    const { registry, state } = setup({ points: { current: { hi: 12 } } });
    registry.apply('m1', { current: 13 }, 'poll');
    registry.apply('m1', {}, 'poll', { current: 'stale', fault: 'good' });
    expect(state('m1.current.hi')).toBe('active_unack');
    expect(state('m1.current.quality')).toBe('active_unack');
  });
});

describe('offline', () => {
  test('going offline raises the offline alarm only, holds the point alarms; coming back clears it', () => {
    const { registry, state, events } = setup({ points: { current: { hi: 12 } } });
    registry.apply('m1', { current: 13 }, 'poll');
    registry.setOnline('m1', false);
    expect(state('m1.offline')).toBe('active_unack');
    expect(state('m1.current.hi')).toBe('active_unack');
    expect(state('m1.current.quality')).toBe('normal');
    registry.apply('m1', { current: 13 }, 'poll');
    expect(state('m1.offline')).toBe('rtn_unack');
    expect(events.filter((e) => e.alarm_id === 'm1.offline').map((e) => e.transition)).toEqual(['raise', 'clear']);
  });

  test('a device that never answers after start raises after the start-up grace', async () => {
    const { evaluator, state } = setup({}, 3000);
    await evaluator.start();
    vi.advanceTimersByTime(2999);
    expect(state('m1.offline')).toBe('normal');
    vi.advanceTimersByTime(1);
    expect(state('m1.offline')).toBe('active_unack');
  });

  test('a device that answers within the grace raises nothing', async () => {
    const { evaluator, registry, events } = setup({}, 3000);
    await evaluator.start();
    registry.apply('m1', { current: 3 }, 'poll');
    vi.advanceTimersByTime(10_000);
    expect(events).toEqual([]);
  });

  test('offline: false turns the offline alarm off', () => {
    const { table } = setup({ offline: false });
    expect(table.has('m1.offline')).toBe(false);
  });
});

describe('operators', () => {
  test('ack, shelve with expiry, out of service, each with who did it', () => {
    const { registry, table, state, events } = setup({ points: { current: { hi: 12 } } });
    const op = { token: 'anna', remote: '10.0.0.5' };
    registry.apply('m1', { current: 13 }, 'poll');
    table.ack('m1.current.hi', op);
    expect(state('m1.current.hi')).toBe('active_ack');
    expect(events[1]).toMatchObject({ transition: 'ack', by: op, from: 'active_unack', to: 'active_ack' });
    expect(() => table.ack('m1.current.hi', op)).toThrow(/already acknowledged/);

    table.shelve('m1.current.hi', 600, op, 'sensor being replaced');
    expect(table.view('m1.current.hi')).toMatchObject({ state: 'shelved', shelved_by: 'anna', comment: 'sensor being replaced' });
    registry.apply('m1', { current: 5 }, 'poll');
    registry.apply('m1', { current: 14 }, 'poll');
    expect(events.map((e) => e.transition)).toEqual(['raise', 'ack', 'shelve']);
    vi.advanceTimersByTime(600_000);
    expect(events.at(-1)).toMatchObject({ transition: 'shelve_expired', by: null, to: 'active_unack' });

    expect(() => table.shelve('m1.current.hi', 7200, op)).toThrow(/at most 1 h/);
    table.outOfService('m1.current.hi', { token: 'admin', remote: null });
    expect(state('m1.current.hi')).toBe('out_of_service');
    registry.apply('m1', { current: 1 }, 'poll');
    table.returnToService('m1.current.hi', { token: 'admin', remote: null });
    expect(state('m1.current.hi')).toBe('normal');
    expect(() => table.ack('nope', op)).toThrow(/no alarm "nope"/);
  });

  test('the replay ring gives the transitions after a seq, or null when they are gone', () => {
    const { registry, table } = setup({ points: { current: { hi: 12 } } });
    for (let i = 0; i < 6; i++) registry.apply('m1', { current: i % 2 === 0 ? 13 : 1 }, 'poll');
    expect(table.since(4)!.map((e) => e.seq)).toEqual([5, 6]);
    expect(table.since(6)).toEqual([]);
    expect(table.since(7)).toBeNull();
  });

  test('a restored table keeps unacknowledged alarms and expires a shelving that ran out meanwhile', () => {
    const { registry, table } = setup({ points: { current: { hi: 12 } } });
    registry.apply('m1', { current: 13 }, 'poll');
    const saved = table.persisted();
    const again = new AlarmTable({ maxShelveS: 3600 });
    const defs = buildDefinitions([{ id: 'm1', name: 'Motor 1', index: 0, points: POINTS, alarms: v.parse(DeviceAlarmsSchema, { points: { current: { hi: 12 } } }), poll_interval_ms: 100 }]).definitions;
    again.load(defs, saved);
    expect(again.view('m1.current.hi')).toMatchObject({ state: 'active_unack', value: 13 });
    expect(again.seq).toBe(saved.seq);
  });
});
