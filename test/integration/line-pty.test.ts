/**
 * The line-protocol driver against real PTY pairs (socat) with a device process on the far end
 * that the test starts: polls, writes, streams, fragments, garbage, and a port that vanishes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient, postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { LinePeer, ptyPair, waitFor, type PtyPair } from './line-pty.js';

const haveSocat = peers('socat', 'python3');
const dir = mkdtempSync(join(tmpdir(), 'mgw-line-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function motorDevice(path: string): GatewayConfigInput['devices'][number] {
  return {
    id: 'motor_l1',
    driver: 'line',
    type: 'motor',
    poll_interval_ms: 50,
    offline_after: 2,
    port: { path, baud: 19200, timeout_ms: 300, reconnect_max_ms: 400 },
    error_pattern: '^ERR (.*)$',
    points: {
      // The controller accepts up to 3000 rpm; the config allows more so its refusal can be seen.
      speed: { type: 'int', command: 'SPEED?', pattern: '^SPEED=(-?\\d+)$', access: 'rw', write: 'SPEED={value}', ack: '^OK SPEED=(\\d+)$', min: 0, max: 5000, unit: 'rpm' },
      running: { type: 'bool', command: 'STATUS?', pattern: '^RUN=(?<running>[01]);', access: 'rw', write: 'RUN={value}', ack: '^OK$' },
      temperature: { type: 'float', command: 'STATUS?', pattern: 'TEMP=(?<temperature>-?[\\d.]+)$', unit: '°C' },
    },
  } as GatewayConfigInput['devices'][number];
}

const CLIMATE = '^T=(?<temperature>-?[\\d.]+);H=(?<humidity>[\\d.]+)$';
function climateDevice(path: string): GatewayConfigInput['devices'][number] {
  return {
    id: 'climate_l1',
    driver: 'line',
    type: 'sensor',
    port: { path, max_line_length: 32 },
    points: {
      temperature: { type: 'float', pattern: CLIMATE, unit: '°C' },
      humidity: { type: 'float', pattern: CLIMATE, unit: '%RH' },
    },
  } as GatewayConfigInput['devices'][number];
}

function counters(gw: RunningGateway, path: string): Record<string, number> {
  const driver = gw.gateway.driverList().find((d) => d.id === `line:${path}`);
  return driver!.health!().counters!;
}

const update = (id: string, pred: (s: Record<string, unknown>) => boolean) => (m: Record<string, any>) =>
  m['type'] === 'device_update' && m['device_id'] === id && pred(m['data'].new_state);

describe.skipIf(!haveSocat)('line driver: a polled motor controller on a PTY', () => {
  let pair: PtyPair;
  let peer: LinePeer;
  let gw: RunningGateway;
  let ws: TestClient;

  beforeAll(async () => {
    pair = await ptyPair(join(dir, 'motor-gw'), join(dir, 'motor-dev'));
    peer = await LinePeer.start(pair.peerEnd);
    gw = await startGateway({ devices: [motorDevice(pair.driverEnd)] });
    ws = await TestClient.connect(gw.wsUrl);
  });
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await peer?.stop();
    await pair?.stop();
  });

  it('polls each command and publishes the values to the registry and to WebSocket clients', async () => {
    const u = await ws.next(update('motor_l1', (s) => s['speed'] === 1200));
    expect(u['data'].device_type).toBe('motor');
    await ws.next(update('motor_l1', (s) => s['temperature'] === 31.5 && s['running'] === true));
    const snap = gw.gateway.registry.snapshot('motor_l1')!;
    expect(snap.online).toBe(true);
    expect(snap.state).toMatchObject({ speed: 1200, running: true, temperature: 31.5 });
    // Two points share STATUS?: it is asked once per poll, not once per point.
    const firstStatus = peer.rx.indexOf('STATUS?');
    expect(peer.rx[firstStatus + 1]).not.toBe('STATUS?');
  });

  it('publishes a change made at the device on the next poll', async () => {
    await peer.command({ speed: 1750 });
    const u = await ws.next(update('motor_l1', (s) => s['speed'] === 1750));
    expect(u['data'].action).toBe('poll');
  });

  it('sends a REST write as SPEED=<value> and publishes the acknowledged value', async () => {
    const from = ws.messages.length;
    const res = await postJson(`${gw.url}/api/v1/devices/motor_l1`, { speed: 1500 });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ device_id: 'motor_l1', new_state: { speed: 1500 }, action: 'device_control' });
    await peer.waitRx((l) => l === 'SPEED=1500', 'SPEED=1500');
    const u = await ws.next(update('motor_l1', (s) => s['speed'] === 1500), 5000, from);
    expect(u['data'].action).toBe('device_control');
  });

  it('confirms a write without a value in its acknowledgement by reading the point back', async () => {
    const res = await postJson(`${gw.url}/api/v1/devices/motor_l1`, { running: false });
    expect(res.status).toBe(200);
    expect(res.json.new_state).toEqual({ running: false });
    const i = peer.rx.lastIndexOf('RUN=0');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(peer.rx.slice(i + 1)).toContain('STATUS?');
  });

  it('answers a write the device refuses with device_error and the device words, not a timeout', async () => {
    const res = await postJson(`${gw.url}/api/v1/devices/motor_l1`, { speed: 4000 });
    expect(res.status).toBe(502);
    expect(res.json.error_code).toBe('device_error');
    expect(res.json.message).toContain('ERR out of range');
    expect(gw.gateway.registry.snapshot('motor_l1')!.state['speed']).toBe(1500);
  });

  it('rejects a value outside the configured range before anything is sent', async () => {
    const before = peer.rx.length;
    const res = await postJson(`${gw.url}/api/v1/devices/motor_l1`, { speed: 6000 });
    expect(res.status).toBe(422);
    expect(res.json.error_code).toBe('validation_error');
    expect(peer.rx.slice(before).some((l) => l.startsWith('SPEED=6000'))).toBe(false);
  });

  it('marks a device that stops answering offline after offline_after polls, and online when it answers again', async () => {
    const start = ws.messages.length;
    await peer.command({ answer: false });
    await ws.next((m) => m['type'] === 'device_update' && m['device_id'] === 'motor_l1' && m['data'].new_state.online === false, 5000, start);
    expect(counters(gw, pair.driverEnd)['timeouts']).toBeGreaterThanOrEqual(2);
    const res = await postJson(`${gw.url}/api/v1/devices/motor_l1`, { speed: 1000 });
    expect(res.json.error_code).toBe('device_offline');
    const from = ws.messages.length;
    await peer.command({ answer: true });
    await ws.next((m) => m['type'] === 'device_update' && m['device_id'] === 'motor_l1' && m['data'].new_state.online === true, 5000, from);
  });
});

describe.skipIf(!haveSocat)('line driver: a streaming sensor behind socat -b 7 (fragmented delivery)', () => {
  let pair: PtyPair;
  let peer: LinePeer;
  let gw: RunningGateway;
  let ws: TestClient;
  let path: string;

  beforeAll(async () => {
    pair = await ptyPair(join(dir, 'climate-gw'), join(dir, 'climate-dev'), { blockSize: 7 });
    path = pair.driverEnd;
    peer = await LinePeer.start(pair.peerEnd);
    gw = await startGateway({ devices: [climateDevice(path)] });
    ws = await TestClient.connect(gw.wsUrl);
    await waitFor('the port to open', () => gw.logs.some((l) => l.msg === 'port open'));
  });
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await peer?.stop();
    await pair?.stop();
  });

  it('parses streamed lines as they arrive, also when they come in pieces', async () => {
    await peer.emit('T=23.4;H=45.1\n');
    const u = await ws.next(update('climate_l1', (s) => s['temperature'] === 23.4 && s['humidity'] === 45.1));
    expect(u['data'].action).toBe('stream');
    expect(u['data'].new_state.online).toBe(true);
    // Three bytes at a time, each a separate write on the device side.
    await peer.emit('T=-1.5;H=50.25\n', 3);
    await ws.next(update('climate_l1', (s) => s['temperature'] === -1.5 && s['humidity'] === 50.25));
    // Two lines in one write, one of them split by socat's 7-byte blocks.
    await peer.emit('T=20.0;H=40.0\nT=21.5;H=41.5\n');
    await ws.next(update('climate_l1', (s) => s['temperature'] === 21.5 && s['humidity'] === 41.5));
  });

  it('counts and logs a garbage line and keeps going', async () => {
    const before = counters(gw, path)['unmatched_lines']!;
    await peer.emit('%%?? noise\n');
    await peer.emit('T=24.0;H=44.0\n');
    await ws.next(update('climate_l1', (s) => s['temperature'] === 24));
    expect(counters(gw, path)['unmatched_lines']).toBe(before + 1);
    expect(gw.logs.some((l) => l.msg === 'line matches no point' && l['line'] === '%%?? noise')).toBe(true);
  });

  it('discards an over-long line at max_line_length, including its tail, and takes the next line', async () => {
    const before = counters(gw, path);
    // 60 bytes without a delimiter, then its end and a good line. The tail after the cut
    // ("...XT=9.9;H=9.9") belongs to the discarded line: it is neither a value nor a garbage line.
    await peer.emit(`${'X'.repeat(60)}T=9.9;H=9.9\nT=25.0;H=43.0\n`);
    await ws.next(update('climate_l1', (s) => s['temperature'] === 25));
    expect(counters(gw, path)['overlong_lines']).toBe(before['overlong_lines']! + 1);
    expect(counters(gw, path)['unmatched_lines']).toBe(before['unmatched_lines']);
    expect(ws.messages.some((m) => m['device_id'] === 'climate_l1' && m['data']?.new_state?.temperature === 9.9)).toBe(false);
    expect(gw.logs.some((l) => l.msg === 'line longer than 32 bytes discarded')).toBe(true);
  });

  it('waits for the delimiter of a line that arrives without one', async () => {
    const before = counters(gw, path)['unmatched_lines']!;
    await peer.emit('T=26.5;H=42.0');
    await peer.emit('T=1', 1);
    await peer.emit('\n');
    // Nothing ended the first piece, so "T=26.5;H=42.0T=1" is one line, and it matches nothing.
    await waitFor('the joined line to be counted', () => counters(gw, path)['unmatched_lines'] === before + 1);
    expect(ws.messages.some((m) => m['device_id'] === 'climate_l1' && m['data']?.new_state?.temperature === 26.5)).toBe(false);
    await peer.emit('T=26.5;H=42.0');
    await peer.emit('\n');
    await ws.next(update('climate_l1', (s) => s['temperature'] === 26.5));
  });

  it('drops a partial line left without delimiter when the port goes away', async () => {
    await peer.emit('T=99.9;H=99.9');
    // The port goes only once the gateway holds the partial line.
    await waitFor('the partial line to arrive', () => counters(gw, path)['partial_line_bytes'] === 'T=99.9;H=99.9'.length);
    await pair.stop();
    await ws.next((m) => m['type'] === 'device_update' && m['device_id'] === 'climate_l1' && m['data'].new_state.online === false);
    await waitFor('the partial line to be counted', () => counters(gw, path)['incomplete_lines'] === 1);
    expect(gw.gateway.registry.snapshot('climate_l1')!.state['temperature']).toBe(26.5);
  });
});

describe.skipIf(!haveSocat)('line driver: the port vanishes and comes back', () => {
  let pair: PtyPair | undefined;
  let peer: LinePeer | undefined;
  let gw: RunningGateway;
  let ws: TestClient;
  const gwEnd = join(dir, 'replug-gw');
  const devEnd = join(dir, 'replug-dev');

  beforeAll(async () => {
    pair = await ptyPair(gwEnd, devEnd);
    peer = await LinePeer.start(devEnd);
    gw = await startGateway({ devices: [motorDevice(gwEnd)] });
    ws = await TestClient.connect(gw.wsUrl);
  });
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await peer?.stop();
    await pair?.stop();
  });

  it('marks the device offline when socat dies and online again on a new socat at the same path, without a restart', async () => {
    await ws.next(update('motor_l1', (s) => s['speed'] === 1200));
    await pair!.stop();
    await peer!.stop();
    pair = undefined;
    peer = undefined;
    const off = await ws.next(update('motor_l1', (s) => s['online'] === false));
    expect(gw.logs.some((l) => l.msg === 'port lost; reopening')).toBe(true);
    // Reopen attempts keep counting as driver progress, so the watchdog does not restart the gateway.
    const driver = gw.gateway.driverList().find((d) => d.id === `line:${gwEnd}`)!;
    const before = driver.health!().lastProgress!;
    await waitFor('a reopen attempt', () => driver.health!().lastProgress! > before);
    // While the port is gone a write is refused at once.
    const res = await postJson(`${gw.url}/api/v1/devices/motor_l1`, { speed: 900 });
    expect(res.status).toBe(503);
    expect(res.json.error_code).toBe('device_offline');

    const from = ws.messages.indexOf(off);
    pair = await ptyPair(gwEnd, devEnd);
    peer = await LinePeer.start(devEnd);
    await peer.command({ speed: 2222 });
    await ws.next(update('motor_l1', (s) => s['online'] === true && s['speed'] === 2222), 10_000, from);
    expect(gw.gateway.isReady).toBe(true);
    expect(gw.gateway.driverList().find((d) => d.id === `line:${gwEnd}`)!.health!().counters!['reopens']).toBe(1);
  });
});

describe.skipIf(!haveSocat)('line driver: a port that vanishes is reopened with jittered backoff', () => {
  let pair: PtyPair | undefined;
  let peer: LinePeer | undefined;
  let gw: RunningGateway;
  let ws: TestClient;
  const gwEnd = join(dir, 'jitter-gw');
  const devEnd = join(dir, 'jitter-dev');

  beforeAll(async () => {
    pair = await ptyPair(gwEnd, devEnd);
    peer = await LinePeer.start(devEnd);
    gw = await startGateway({ devices: [motorDevice(gwEnd)] });
    ws = await TestClient.connect(gw.wsUrl);
  });
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await peer?.stop();
    await pair?.stop();
  });

  it('retries the open with pauses spread around 100, 200, 400 ms, offline meanwhile and online after', async () => {
    await ws.next(update('motor_l1', (s) => s['speed'] === 1200));
    await pair!.stop();
    await peer!.stop();
    pair = undefined;
    peer = undefined;
    const off = await ws.next(update('motor_l1', (s) => s['online'] === false));
    // Every failed attempt to reopen the port is logged with the pause before the next one.
    const pauses = () =>
      gw.logs
        .map((l) => l as Record<string, unknown>)
        .filter((l) => typeof l['retry_ms'] === 'number' && (l['bus'] === `line:${gwEnd}` || l['path'] === gwEnd))
        .map((l) => l['retry_ms'] as number);
    await waitFor('three failed reopen attempts', () => pauses().length >= 3);
    const seen = pauses().slice(0, 3);
    // The pauses double from 100 ms up to reconnect_max_ms (400), each spread by +-25%...
    for (const ms of seen) {
      expect(ms).toBeGreaterThanOrEqual(75);
      expect(ms).toBeLessThanOrEqual(400);
    }
    // ...so that ports lost together are not retried in lockstep: without jitter every pause
    // would be exactly 100, 200 or 400 ms; with it, the chance of that is nil.
    expect(seen.every((ms) => ms === 100 || ms === 200 || ms === 400)).toBe(false);

    const from = ws.messages.indexOf(off);
    pair = await ptyPair(gwEnd, devEnd);
    peer = await LinePeer.start(devEnd);
    await peer.command({ speed: 2345 });
    await ws.next(update('motor_l1', (s) => s['online'] === true && s['speed'] === 2345), 10_000, from);
    expect(counters(gw, gwEnd)['link_up']).toBe(1);
  });
});

describe.skipIf(!haveSocat)('line driver: two devices on one port', () => {
  let pair: PtyPair;
  let peer: LinePeer;
  let gw: RunningGateway;
  let ws: TestClient;

  beforeAll(async () => {
    pair = await ptyPair(join(dir, 'shared-gw'), join(dir, 'shared-dev'));
    peer = await LinePeer.start(pair.peerEnd);
    const motor = motorDevice(pair.driverEnd) as { port: object };
    const climate = { ...climateDevice(pair.driverEnd), port: motor.port, stream_timeout_ms: 300 };
    gw = await startGateway({ devices: [motor, climate] as GatewayConfigInput['devices'] });
    ws = await TestClient.connect(gw.wsUrl);
  });
  afterAll(async () => {
    ws?.close();
    await gw?.stop();
    await peer?.stop();
    await pair?.stop();
  });

  it('serves a polled and a streaming device through one driver, with streamed lines between the answers', async () => {
    expect(gw.gateway.driverList().filter((d) => d.id.startsWith('line:'))).toHaveLength(1);
    await ws.next(update('motor_l1', (s) => s['speed'] === 1200));
    // Streamed lines land while polls are in flight; neither side takes the other's lines.
    for (const t of [20.5, 21.5, 22.5]) await peer.emit(`T=${t};H=40.0\n`);
    await ws.next(update('climate_l1', (s) => s['temperature'] === 22.5));
    await peer.command({ speed: 1300 });
    await ws.next(update('motor_l1', (s) => s['speed'] === 1300));
    expect(counters(gw, pair.driverEnd)['unmatched_lines']).toBe(0);
  });

  it('marks a streaming device offline after stream_timeout_ms of silence, while the polled one stays online', async () => {
    await peer.emit('T=23.0;H=41.0\n');
    const from = ws.messages.length;
    await peer.emit('T=23.2;H=41.0\n');
    await ws.next(update('climate_l1', (s) => s['temperature'] === 23.2), 5000, from);
    await ws.next(update('climate_l1', (s) => s['online'] === false), 5000, from);
    expect(gw.gateway.registry.snapshot('motor_l1')!.online).toBe(true);
    await peer.emit('T=23.5;H=41.0\n');
    await ws.next(update('climate_l1', (s) => s['online'] === true && s['temperature'] === 23.5));
  });
});

describe.skipIf(!haveSocat)('line driver: stale bytes', () => {
  it('flushes what the device sent before the port was opened', async () => {
    const pair = await ptyPair(join(dir, 'stale-gw'), join(dir, 'stale-dev'));
    const peer = await LinePeer.start(pair.peerEnd);
    let gw: RunningGateway | undefined;
    try {
      // Sent while nobody listens: it waits in the PTY's input queue of the gateway end.
      await peer.emit('T=77.7;H=1.0\nT=7');
      gw = await startGateway({ devices: [climateDevice(pair.driverEnd)] });
      await waitFor('the port to open', () => gw!.logs.some((l) => l.msg === 'port open'));
      const ws = await TestClient.connect(gw.wsUrl);
      await peer.emit('T=20.0;H=40.0\n');
      await ws.next(update('climate_l1', (s) => s['temperature'] === 20));
      ws.close();
      expect(gw.logs.some((l) => l.msg === 'line matches no point')).toBe(false);
      expect(ws.messages.some((m) => m['data']?.new_state?.temperature === 77.7)).toBe(false);
    } finally {
      await gw?.stop();
      await peer.stop();
      await pair.stop();
    }
  });
});
