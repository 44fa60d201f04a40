/**
 * Writes from the broker take the REST road: identity and role, validation, the device's
 * read-back, the audit trail. Sparkplug DCMD from the independent Python host, JSON set from an
 * MQTT 5 client; refusals are counted and audited, never applied; thousands of malformed
 * commands do not crash the gateway.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { SparkplugHost } from '../helpers/sparkplug-host.js';
import { Recorder } from '../helpers/mqtt-client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { hashToken } from '../../src/server/auth.js';
import { encodePayload } from '../../src/northbound/sparkplug-payload.js';
import { until } from '../cli/helpers.js';

const OPERATOR = 'mgw_operator-token-for-the-mqtt-tests-0123456789abcdef';
const VIEWER = 'mgw_viewer-token-for-the-mqtt-tests-0123456789abcdefgh';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(mode: 'sparkplug' | 'json'): Promise<{ b: Mosquitto; gw: RunningGateway; stateDir: string }> {
  const b = new Mosquitto();
  cleanups.push(() => (b.stop(), b.cleanup()));
  await b.start();
  const stateDir = mkdtempSync(join(tmpdir(), 'mgw-cmd-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const gw = await startGateway({
    state_dir: stateDir,
    auth: {
      tokens: [
        { name: 'scada_op', role: 'operator', hash: hashToken(OPERATOR) },
        { name: 'dashboard', role: 'viewer', hash: hashToken(VIEWER) },
      ],
    },
    northbound: {
      enabled: true,
      mode,
      mqtt: { url: b.url },
      sparkplug: { group_id: 'plant', edge_node_id: 'gw1' },
      json: { prefix: 'mgw' },
      commands: { enabled: true, identity: 'plant-broker' },
    },
  } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  return { b, gw, stateDir };
}

async function auditLines(gw: RunningGateway, stateDir: string): Promise<Record<string, any>[]> {
  await gw.gateway.audit.flush();
  return readFileSync(join(stateDir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

const counters = (gw: RunningGateway) => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!().counters!;

const waitUntil = (cond: () => boolean, what: string, timeoutMs = 15_000) => until(cond, what, timeoutMs);

describe.skipIf(!peers('mosquitto', 'protoc', '/usr/bin/python3'))('commands from the broker', () => {
  test('a DCMD with an operator token is written, confirmed by the device, comes back as DDATA and is audited with the MQTT identity', async () => {
    const { b, gw, stateDir } = await setup('sparkplug');
    const h = await SparkplugHost.start({ port: b.port, group: 'plant' });
    cleanups.push(() => h.stop());
    h.send({ cmd: 'rebirth', edge: 'gw1' });
    const birth = await h.waitFor((e) => e.type === 'DBIRTH' && e.device === 'motor_01', 'DBIRTH');
    const alias = birth.metrics!.find((m) => m.name === 'speed')!.alias!;
    const mark = h.events.length;
    h.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: OPERATOR, metrics: [{ alias, datatype: 3, value: 1234 }] });
    const back = await h.waitFor((e) => e.type === 'DDATA' && e.device === 'motor_01' && e.metrics!.some((m) => m.name === 'speed' && m.value === 1234), 'the confirmed speed as DDATA', 10_000, mark);
    expect(back.metrics!.find((m) => m.name === 'speed')!.properties['Quality']).toBe(192);
    const rest = (await (await fetch(`${gw.url}/api/v1/devices/motor_01`, { headers: { authorization: `Bearer ${VIEWER}` } })).json()) as { state: Record<string, unknown> };
    expect(rest.state['speed']).toBe(1234);
    const audit = await auditLines(gw, stateDir);
    expect(audit.at(-1)).toMatchObject({ token: 'mqtt:scada_op', device: 'motor_01', requested: { speed: 1234 }, outcome: 'ok' });
    expect(counters(gw)['commands_applied_total']).toBe(1);
  });

  test('a DCMD without the role is refused, audited and counted, never applied', async () => {
    const { b, gw, stateDir } = await setup('sparkplug');
    const h = await SparkplugHost.start({ port: b.port, group: 'plant' });
    cleanups.push(() => h.stop());
    await waitUntil(() => gw.gateway.registry.snapshot('motor_01')!.online, 'motor online');
    const before = gw.gateway.registry.snapshot('motor_01')!.state['speed'];
    // No token: the configured identity, role viewer. A viewer token: that token, role viewer.
    h.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', metrics: [{ name: 'speed', datatype: 3, value: 2222 }] });
    h.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: VIEWER, metrics: [{ name: 'speed', datatype: 3, value: 2223 }] });
    h.send({ cmd: 'dcmd', edge: 'gw1', device: 'motor_01', token: 'mgw_not-a-token', metrics: [{ name: 'speed', datatype: 3, value: 2224 }] });
    await waitUntil(() => (counters(gw)['commands_refused_total'] ?? 0) >= 3, 'three refusals');
    const audit = await auditLines(gw, stateDir);
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ token: 'mqtt:plant-broker', device: 'motor_01', requested: { speed: 2222 }, outcome: 'error', error_code: 'forbidden' }),
        expect.objectContaining({ token: 'mqtt:dashboard', requested: { speed: 2223 }, outcome: 'error', error_code: 'forbidden' }),
        expect.objectContaining({ token: 'mqtt:unknown-token', requested: { speed: 2224 }, outcome: 'error', error_code: 'unauthorized' }),
      ]),
    );
    expect(gw.gateway.registry.snapshot('motor_01')!.state['speed']).toBe(before);
    expect(counters(gw)['commands_applied_total']).toBe(0);
    expect(gw.logs.some((l) => l.msg === 'MQTT command refused' && l['code'] === 'forbidden')).toBe(true);
  });

  test('a JSON set goes through the control path: applied with a token, a bad value refused with the rule and audited', async () => {
    const { b, gw, stateDir } = await setup('json');
    const sub = await Recorder.connect(b.url, ['mgw/motor_02/diff'], { protocolVersion: 5 });
    cleanups.push(() => sub.close());
    await waitUntil(() => gw.gateway.registry.snapshot('motor_02')!.online, 'motor online');
    await sub.client.publishAsync('mgw/motor_02/set', JSON.stringify({ speed: 777 }), { qos: 1, properties: { userProperties: { token: OPERATOR } } });
    await sub.waitFor((m) => {
      const j = JSON.parse(m.text) as Record<string, any>;
      return j['data']['action'] === 'device_control' && j['data']['new_state']['speed'] === 777;
    }, 'the confirmed write as a diff');
    await sub.client.publishAsync('mgw/motor_02/set', JSON.stringify({ speed: 99999 }), { qos: 1, properties: { userProperties: { token: OPERATOR } } });
    await waitUntil(() => (counters(gw)['commands_refused_total'] ?? 0) >= 1, 'the refusal');
    const audit = await auditLines(gw, stateDir);
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ token: 'mqtt:scada_op', device: 'motor_02', requested: { speed: 777 }, outcome: 'ok' }),
        expect.objectContaining({ token: 'mqtt:scada_op', device: 'motor_02', requested: { speed: 99999 }, outcome: 'error', error_code: 'validation_error' }),
      ]),
    );
    expect(gw.gateway.registry.snapshot('motor_02')!.state['speed']).toBe(777);
  });

  test('3,000 malformed DCMD and NCMD payloads (random bytes, odd metrics, writes without the role): none applied, all refused and counted, the gateway keeps publishing', async () => {
    const { b, gw } = await setup('sparkplug');
    const fuzz = await Recorder.connect(b.url, ['spBv1.0/plant/DDATA/gw1/+'], { protocolVersion: 5 });
    cleanups.push(() => fuzz.close());
    await waitUntil(() => gw.gateway.registry.snapshot('motor_01')!.online, 'motor online');
    const speed = gw.gateway.registry.snapshot('motor_01')!.state['speed'];
    const junk = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 300 }), { numRuns: 1500, seed: 42 });
    const weird = fc.sample(
      fc.record({
        metrics: fc.array(
          fc.record({ name: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), alias: fc.option(fc.nat(5000), { nil: undefined }), datatype: fc.nat(30), doubleValue: fc.option(fc.double(), { nil: undefined }), stringValue: fc.option(fc.string(), { nil: undefined }) }),
          { maxLength: 5 },
        ),
      }),
      { numRuns: 1000, seed: 7 },
    );
    const topics = ['spBv1.0/plant/DCMD/gw1/motor_01', 'spBv1.0/plant/DCMD/gw1/no_such_device', 'spBv1.0/plant/NCMD/gw1'];
    let n = 0;
    const sent: Promise<unknown>[] = [];
    for (const bytes of junk) sent.push(fuzz.client.publishAsync(topics[n++ % 3]!, Buffer.from(bytes), { qos: 1 }));
    for (const p of weird) {
      const clean = { metrics: p.metrics.map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined))) };
      sent.push(fuzz.client.publishAsync(topics[n++ % 2]!, encodePayload(clean as never), { qos: 1 }));
    }
    for (let i = 0; i < 500; i++) sent.push(fuzz.client.publishAsync(topics[0]!, encodePayload({ metrics: [{ name: 'speed', datatype: 3, intValue: 100 + i }] }), { qos: 1 }));
    await Promise.all(sent);
    // Every DCMD is refused (no token: role viewer; or unreadable); NCMDs of junk are ignored or refused.
    const dcmds = 1000 + 1000 + 500;
    await waitUntil(() => (counters(gw)['commands_refused_total'] ?? 0) >= dcmds, `all ${dcmds} DCMDs refused (${JSON.stringify(counters(gw))})`, 60_000);
    expect(counters(gw)['commands_applied_total']).toBe(0);
    expect(gw.gateway.registry.snapshot('motor_01')!.state['speed']).toBe(speed);
    // Still alive and publishing.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const mark = fuzz.messages.length;
    await fuzz.waitFor(() => true, 'DDATA after the fuzz', 5000, mark);
    expect(gw.logs.filter((l) => l.level >= 50)).toEqual([]);
  }, 120_000);

  test('2,000 malformed JSON set payloads (not JSON, not objects, wrong types, unknown points, huge): none applied, all refused', async () => {
    const { b, gw } = await setup('json');
    const fuzz = await Recorder.connect(b.url, ['mgw/motor_01/diff'], { protocolVersion: 5 });
    cleanups.push(() => fuzz.close());
    await waitUntil(() => gw.gateway.registry.snapshot('motor_01')!.online, 'motor online');
    const speed = gw.gateway.registry.snapshot('motor_01')!.state['speed'];
    const texts = [
      ...fc.sample(fc.string({ maxLength: 200 }), { numRuns: 700, seed: 1 }),
      ...fc.sample(fc.json(), { numRuns: 700, seed: 2 }),
      ...fc.sample(fc.dictionary(fc.constantFrom('speed', 'running', 'current', 'nope', '__proto__'), fc.jsonValue()).map((o) => JSON.stringify(o)), { numRuns: 500, seed: 3 }),
      ...Array.from({ length: 100 }, (_, i) => `{"speed": ${'9'.repeat(10 + i)}}`),
    ];
    const bad = texts.filter((t) => {
      try {
        const v = JSON.parse(t) as unknown;
        return !(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0 && Object.entries(v).every(([k, x]) => k === 'speed' && Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 3000));
      } catch {
        return true;
      }
    });
    // With an operator token, so every refusal is about the payload, not the role.
    await Promise.all(bad.map((t) => fuzz.client.publishAsync('mgw/motor_01/set', t, { qos: 1, properties: { userProperties: { token: OPERATOR } } })));
    await fuzz.client.publishAsync('mgw/motor_01/set', Buffer.alloc(20_000, 0x7b), { qos: 1 });
    await waitUntil(() => (counters(gw)['commands_refused_total'] ?? 0) >= bad.length + 1, `all ${bad.length + 1} refused (${JSON.stringify(counters(gw))})`, 60_000);
    expect(counters(gw)['commands_applied_total']).toBe(0);
    expect(gw.gateway.registry.snapshot('motor_01')!.state['speed']).toBe(speed);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    await fuzz.waitFor(() => true, 'diffs after the fuzz', 5000, fuzz.messages.length);
    expect(gw.logs.filter((l) => l.level >= 50)).toEqual([]);
  }, 120_000);
});
