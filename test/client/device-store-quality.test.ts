/**
 * The client's copy of a device keeps each point's quality as the registry does: every diff the
 * registry publishes, serialised as the server sends it, leaves the client's device equal to the
 * registry's snapshot, quality and last_update included.
 */
import { describe, expect, it } from 'vitest';
import { DeviceStore, pointQuality, type DeviceUpdateMessage, type DeviceView } from '../../src/client/index.js';
import { Registry } from '../../src/core/registry.js';
import { deviceUpdateMessage, deviceView } from '../../src/server/protocol.js';

function pair() {
  let t = 1_000_000;
  const registry = new Registry({ replaySize: 16, now: () => (t += 1000) });
  registry.add({
    id: 'm1',
    name: 'M1',
    device_type: 'motor',
    driver: 'test',
    points: { speed: { type: 'integer', access: 'rw' }, temperature: { type: 'number', access: 'r' }, load: { type: 'number', access: 'r' } },
  });
  const store = new DeviceStore();
  store.replace(JSON.parse(JSON.stringify(deviceView(registry.snapshot('m1')!))) as DeviceView);
  const wire: DeviceUpdateMessage[] = [];
  registry.onDiff((d) => {
    const msg = JSON.parse(deviceUpdateMessage(d)) as DeviceUpdateMessage;
    wire.push(msg);
    expect(store.apply(msg).kind).toBe('applied');
  });
  const same = () => expect(store.get('m1')).toEqual(JSON.parse(JSON.stringify(deviceView(registry.snapshot('m1')!))));
  return { registry, store, wire, same };
}

describe('DeviceStore quality', () => {
  it('follows good -> stale -> bad -> good, offline and back, exactly as the registry holds it', () => {
    const { registry, store, wire, same } = pair();
    registry.apply('m1', { speed: 100, temperature: 20 }, 'poll', { load: 'bad' });
    same();
    expect(pointQuality(store.get('m1')!, 'load')).toBe('bad');
    registry.apply('m1', {}, 'poll', { temperature: 'stale' });
    same();
    registry.setOnline('m1', false);
    same();
    expect(store.get('m1')!.quality).toEqual({ speed: 'stale', temperature: 'stale', load: 'bad' });
    registry.apply('m1', { speed: 101 }, 'poll', { temperature: 'good', load: 'good' });
    same();
    expect(store.get('m1')!.quality).toEqual({ speed: 'good', temperature: 'good', load: 'good' });
    expect(wire.map((m) => m.data.quality)).toEqual([
      { speed: 'good', temperature: 'good', load: 'bad' },
      { temperature: 'stale' },
      { speed: 'stale' },
      { speed: 'good', temperature: 'good', load: 'good' },
    ]);
  });

  it('a quality-only diff leaves last_update at the last good reading', () => {
    const { registry, store, same } = pair();
    registry.apply('m1', { speed: 100, temperature: 20 }, 'poll');
    const reading = store.get('m1')!.last_update;
    registry.apply('m1', {}, 'poll', { temperature: 'stale' });
    registry.apply('m1', {}, 'poll', { speed: 'bad' });
    expect(store.get('m1')!.last_update).toBe(reading);
    same();
  });

  it('a snapshot brings its own quality map, not shared with the message it came in', () => {
    const store = new DeviceStore();
    const snap: DeviceView = {
      device_id: 'm1',
      device_type: 'motor',
      name: 'm1',
      state: { speed: 5 },
      online: false,
      last_update: 100,
      seq: 3,
      points: { speed: { type: 'integer', access: 'rw' } },
      quality: { speed: 'stale' },
    };
    store.replace(snap);
    store.apply({
      type: 'device_update',
      device_id: 'm1',
      seq: 4,
      timestamp: 200,
      data: { device_id: 'm1', device_type: 'motor', previous_state: { online: false }, new_state: { online: true }, changed: true, action: 'poll', quality: { speed: 'good' } },
    });
    expect(store.get('m1')!.quality).toEqual({ speed: 'good' });
    expect(snap.quality).toEqual({ speed: 'stale' });
  });

  it('a gateway from before qualities: no quality anywhere, every value reads as good', () => {
    const store = new DeviceStore();
    store.replace({ device_id: 'm1', device_type: 'motor', name: 'm1', state: { speed: 5 }, online: true, last_update: 100, seq: 1, points: { speed: { type: 'integer', access: 'rw' }, load: { type: 'number', access: 'r' } } });
    store.apply({ type: 'device_update', device_id: 'm1', seq: 2, timestamp: 200, data: { device_id: 'm1', device_type: 'motor', previous_state: { speed: 5 }, new_state: { speed: 6 }, changed: true, action: 'poll' } });
    const d = store.get('m1')!;
    expect(pointQuality(d, 'speed')).toBe('good');
    expect(pointQuality(d, 'load')).toBeUndefined();
    expect(d.last_update).toBe(200);
  });
});
