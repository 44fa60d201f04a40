/**
 * Home Assistant discovery (JSON mode) against a real Mosquitto: a retained config per point, and
 * its templates rendered with Jinja2 (Home Assistant's template engine) against the retained state
 * the gateway publishes: the value while good, unknown (None) while stale, unavailable while the
 * device is offline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Recorder, type Received } from '../helpers/mqtt-client.js';
import { startGateway } from '../helpers/gateway.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Renders a Home Assistant template the way it does: Jinja2 with value_json = the payload. */
function render(template: string, payload: string): string {
  const py = 'import sys, json, jinja2\nd = json.load(sys.stdin)\nprint(jinja2.Environment().from_string(d["t"]).render(value_json=json.loads(d["p"])), end="")';
  return execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ t: template, p: payload }) }).toString();
}

describe.skipIf(!peers('mosquitto', '/usr/bin/python3'))('Home Assistant discovery', () => {
  test('every point is announced; its template shows the value while good, unknown while stale, unavailable while the device is offline', async () => {
    const b = new Mosquitto();
    cleanups.push(() => (b.stop(), b.cleanup()));
    await b.start();
    const dir = mkdtempSync(join(tmpdir(), 'mgw-ha-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const gw = await startGateway({ state_dir: dir, northbound: { enabled: true, mode: 'json', mqtt: { url: b.url }, json: { prefix: 'ha', home_assistant: true } } } as Partial<GatewayConfigInput>);
    cleanups.push(() => gw.stop());
    const sub = await Recorder.connect(b.url, ['homeassistant/#', 'ha/+/state']);
    cleanups.push(() => sub.close());
    for (const id of gw.gateway.registry.ids()) {
      for (const point of Object.keys(gw.gateway.registry.descriptor(id)!.points)) {
        // Live or retained: on a busy machine this subscriber may be there before the gateway's session.
        await sub.waitFor((m) => m.topic.startsWith('homeassistant/') && m.topic.endsWith(`/ha/${id}_${point}/config`), `config of ${id}.${point}`);
      }
    }
    // The configs are retained: a subscriber that comes later gets them from the broker.
    const late = await Recorder.connect(b.url, ['homeassistant/binary_sensor/ha/motor_01_running/config']);
    cleanups.push(() => late.close());
    expect((await late.waitFor(() => true, 'the retained config')).retain).toBe(true);
    const cfg = (topic: string) => JSON.parse(sub.messages.find((m) => m.topic === topic)!.text) as Record<string, any>;
    const humidity = cfg('homeassistant/sensor/ha/sensor_01_humidity/config');
    expect(humidity).toMatchObject({ state_topic: 'ha/sensor_01/state', unit_of_measurement: '%RH', availability_mode: 'all', device: { name: 'sensor_01' } });
    const running = cfg('homeassistant/binary_sensor/ha/motor_01_running/config');

    const latestState = async (id: string, pred: (j: Record<string, any>) => boolean): Promise<Received> => {
      const from = sub.messages.length;
      return sub.waitFor((m) => m.topic === `ha/${id}/state` && pred(JSON.parse(m.text) as Record<string, any>), `state of ${id}`, 10_000, from);
    };
    const good = await latestState('sensor_01', (j) => j['quality']['humidity'] === 'good');
    expect(render(humidity['value_template'], good.text)).toBe(String(JSON.parse(good.text).state.humidity));
    const motor = await latestState('motor_01', (j) => j['quality']['running'] === 'good');
    expect(render(running['value_template'], motor.text)).toBe(JSON.parse(motor.text).state.running ? 'ON' : 'OFF');
    expect(render(humidity['availability'][1]['value_template'], good.text)).toBe('online');

    gw.gateway.registry.apply('sensor_01', {}, 'poll', { humidity: 'stale' });
    const stale = await latestState('sensor_01', (j) => j['quality']['humidity'] === 'stale');
    expect(render(humidity['value_template'], stale.text)).toBe('None');
    gw.gateway.registry.setOnline('sensor_01', false);
    const offline = await latestState('sensor_01', (j) => j['online'] === false);
    expect(render(humidity['availability'][1]['value_template'], offline.text)).toBe('offline');
  });
});
