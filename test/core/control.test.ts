import { describe, expect, it } from 'vitest';
import { ControlService, type ControlEvent } from '../../src/core/control.js';
import { Registry } from '../../src/core/registry.js';
import { GatewayError } from '../../src/core/errors.js';
import type { Driver } from '../../src/core/driver.js';
import type { PointValue } from '../../src/core/points.js';

function setup(write: Driver['write']) {
  const registry = new Registry({ replaySize: 8 });
  const driver: Driver = {
    id: 'fake',
    devices: () => [],
    start: async () => undefined,
    stop: async () => undefined,
    write,
  };
  registry.add({
    id: 'm1',
    name: 'm1',
    device_type: 'motor',
    driver: 'fake',
    points: {
      speed: { type: 'integer', access: 'rw', min: 0, max: 3000, unit: 'rpm' },
      running: { type: 'boolean', access: 'rw' },
      mode: { type: 'enum', access: 'rw', enum: ['auto', 'manual'] },
      current: { type: 'number', access: 'r' },
    },
  });
  registry.apply('m1', { speed: 100, running: false, mode: 'auto', current: 1 }, 'poll');
  const control = new ControlService({ registry, driverFor: () => driver, timeoutMs: 200 });
  const events: ControlEvent[] = [];
  control.observe((e) => events.push(e));
  return { registry, control, events };
}

const echo: Driver['write'] = async (_id, values) => values as Record<string, PointValue>;

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected a rejection');
}

describe('ControlService', () => {
  it('writes, applies the read-back and answers in the ADR shape', async () => {
    const { control, registry } = setup(echo);
    const result = await control.write('m1', { speed: 150 });
    expect(result).toEqual({
      device_id: 'm1',
      device_type: 'motor',
      previous_state: { speed: 100 },
      new_state: { speed: 150 },
      changed: true,
      action: 'device_control',
      seq: 2,
    });
    expect(registry.snapshot('m1')!.state['speed']).toBe(150);
  });

  it('applies what the device confirmed, not what was asked', async () => {
    const { control, registry } = setup(async () => ({ speed: 2990 }));
    const result = await control.write('m1', { speed: 3000 });
    expect(result.new_state).toEqual({ speed: 2990 });
    expect(registry.snapshot('m1')!.state['speed']).toBe(2990);
  });

  it.each([
    [{ bogus: 1 }, /m1.bogus: unknown point/],
    [{ current: 2 }, /m1.current: point is read-only/],
    [{ speed: 'fast' }, /m1.speed: must be an integer/],
    [{ speed: 1.5 }, /m1.speed: must be an integer/],
    [{ speed: 3001 }, /m1.speed: 3001 is above the maximum 3000 rpm/],
    [{ speed: -1 }, /m1.speed: -1 is below the minimum 0 rpm/],
    [{ running: 1 }, /m1.running: must be a boolean/],
    [{ mode: 'turbo' }, /m1.mode: must be one of auto, manual/],
  ])('rejects %j with validation_error before the driver sees it', async (body, message) => {
    let called = false;
    const { control, registry, events } = setup(async (...args) => {
      called = true;
      return echo(...args);
    });
    const err = await rejection(control.write('m1', body));
    expect(err.code).toBe('validation_error');
    expect(err.message).toMatch(message);
    expect(called).toBe(false);
    expect(registry.seq('m1')).toBe(1);
    expect(events).toHaveLength(0);
  });

  it.each([[null], [[1, 2]], ['text'], [{}]])('rejects the body %j as invalid_request', async (body) => {
    const { control } = setup(echo);
    expect((await rejection(control.write('m1', body))).code).toBe('invalid_request');
  });

  it('answers device_not_found for an unknown device', async () => {
    const { control } = setup(echo);
    expect((await rejection(control.write('nope', { speed: 1 }))).code).toBe('device_not_found');
  });

  it('answers device_offline without calling the driver when the device is offline', async () => {
    const { control, registry } = setup(async () => {
      throw new Error('must not be called');
    });
    registry.setOnline('m1', false);
    expect((await rejection(control.write('m1', { speed: 5 }))).code).toBe('device_offline');
  });

  it('times out a driver that never confirms, aborting its signal, and records the outcome', async () => {
    let signal: AbortSignal | undefined;
    const { control, events } = setup((_id, _v, s) => {
      signal = s;
      return new Promise(() => undefined);
    });
    const err = await rejection(control.write('m1', { speed: 5 }, { token: 'op', remote: '10.0.0.9' }));
    expect(err.code).toBe('device_timeout');
    expect(signal?.aborted).toBe(true);
    expect(events[0]).toMatchObject({ who: { token: 'op', remote: '10.0.0.9' }, deviceId: 'm1', previous: { speed: 100 }, requested: { speed: 5 } });
    expect(events[0]!.outcome.ok).toBe(false);
  });

  it('reports changed:false when the device already held the value', async () => {
    const { control } = setup(echo);
    const result = await control.write('m1', { speed: 100 });
    expect(result).toMatchObject({ changed: false, previous_state: { speed: 100 }, new_state: { speed: 100 }, seq: 1 });
  });
});
