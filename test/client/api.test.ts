/**
 * The client's REST wrappers and authentication against a real gateway: typed errors with the
 * API's error_code and HTTP status; the token on REST (Bearer) and on the WebSocket (?token=).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GatewayClient, GatewayClientError, RestClient, type ConnectionEvent, type WebSocketConstructor } from '../../src/client/index.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { makeTokens, startSecured, type SecuredGateway } from '../security/fixtures.js';
import { Recorder, until } from './fixtures.js';
import { freePort, runCli, stopChild } from './processes.js';

async function failure(p: Promise<unknown>): Promise<GatewayClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayClientError);
    return err as GatewayClientError;
  }
  throw new Error('expected the call to fail');
}

describe('REST wrappers', () => {
  let gw: RunningGateway;
  let rest: RestClient;
  beforeAll(async () => {
    gw = await startGateway({ log: { level: 'warn' } });
    rest = new RestClient({ url: gw.url });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('lists and gets devices with state, seq and point metadata', async () => {
    const list = await rest.list();
    expect(list.map((d) => d.device_id).sort()).toEqual(['motor_01', 'motor_02', 'sensor_01', 'sensor_02']);
    const one = await rest.get('motor_01');
    expect(one).toMatchObject({ device_id: 'motor_01', device_type: 'motor', points: { speed: { access: 'rw', unit: 'rpm' } } });
    expect(typeof one.seq).toBe('number');
  });

  it('control resolves with the confirmed update', async () => {
    const r = await rest.control('motor_02', { speed: 900 });
    expect(r).toMatchObject({ device_id: 'motor_02', action: 'device_control', new_state: { speed: 900 } });
  });

  it('fails with the error_code, HTTP status and device of the refusal', async () => {
    const notFound = await failure(rest.get('motor_99'));
    expect([notFound.code, notFound.status, notFound.deviceId]).toEqual(['device_not_found', 404, 'motor_99']);
    expect(notFound.message).toContain('motor_99');

    const readOnly = await failure(rest.control('motor_01', { actual_speed: 5 }));
    expect([readOnly.code, readOnly.status]).toEqual(['validation_error', 422]);
    expect(readOnly.message).toContain('read-only');
    expect(readOnly.details).toMatchObject({ point: 'actual_speed' });

    const range = await failure(rest.control('motor_01', { speed: 99_999 }));
    expect([range.code, range.status]).toEqual(['validation_error', 422]);
  });

  it('refuses a malformed address at once instead of retrying it forever', () => {
    const make = (url: string) => () => new GatewayClient({ url, WebSocket: WebSocket as unknown as WebSocketConstructor });
    expect(make('ws://127.0.0.1:8000')).toThrow(/must start with http:\/\/ or https:\/\//);
    expect(make('127.0.0.1:8000')).toThrow(/not a valid gateway address/);
    expect(make('http://127.0.0.1:8000')).not.toThrow();
  });

  it('tells an unreachable gateway apart from a refusal', async () => {
    const port = await freePort();
    const e = await failure(new RestClient({ url: `http://127.0.0.1:${port}` }).list());
    expect([e.code, e.status]).toEqual(['network_error', 0]);
    expect(e.message).toContain('connection refused');
  });
});

describe('authentication', () => {
  let gw: SecuredGateway;
  const { tokens, entries } = makeTokens();
  const clients: GatewayClient[] = [];
  beforeAll(async () => {
    gw = await startSecured({ auth: { tokens: entries, failed_attempts_per_min: 100_000 } });
  });
  afterAll(async () => {
    for (const c of clients) c.stop();
    await gw?.cleanup();
  });
  const client = (token?: string) => {
    const c = new GatewayClient({ url: gw.url, token, WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { initialMs: 20, maxMs: 50 } });
    clients.push(c);
    return c;
  };

  it('with a token: the WebSocket connects (token on the URL) and REST control works (Bearer)', async () => {
    const c = client(tokens.operator);
    expect(c.socketUrl()).toContain(`token=${tokens.operator}`);
    const rec = new Recorder(c);
    c.start();
    await rec.when(() => rec.synced >= 1, 10_000, 'sync');
    expect(c.devices()).toHaveLength(4);
    await expect(c.control('motor_01', { speed: 1100 })).resolves.toMatchObject({ new_state: { speed: 1100 } });
  });

  it('the token may travel as a bearer subprotocol instead of on the URL', async () => {
    const c = new GatewayClient({ url: gw.url, token: tokens.viewer, tokenIn: 'protocol', WebSocket: WebSocket as unknown as WebSocketConstructor });
    clients.push(c);
    expect(c.socketUrl()).not.toContain('token=');
    const rec = new Recorder(c);
    c.start();
    await rec.when(() => rec.synced >= 1, 10_000, 'sync');
    expect(c.devices()).toHaveLength(4);
  });

  it('mgw watch --token connects (bearer subprotocol); without one it says why it cannot', async () => {
    const ok = runCli(['--url', gw.url, '--token', tokens.viewer, '--json', 'watch', '--count', '1']);
    const refused = runCli(['--url', gw.url, 'watch']);
    try {
      expect(await ok.exited, ok.stderr).toBe(0);
      expect(ok.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).type)).toContain('update');
      // The refusal itself, not just "401" (the port in "connecting to ...:40177" has it too).
      await until(() => refused.stderr.includes('response: 401)'), 15_000, 'the refusal');
      expect(refused.stderr).toMatch(/cannot connect \(1006 Unexpected server response: 401\); trying again in/);
    } finally {
      await stopChild(ok);
      await stopChild(refused);
    }
  });

  it('a viewer token may watch but not write: forbidden, 403', async () => {
    const e = await failure(client(tokens.viewer).control('motor_01', { speed: 1000 }));
    expect([e.code, e.status]).toEqual(['forbidden', 403]);
  });

  it('without a token: REST is unauthorized (401) and the WebSocket never connects, it keeps retrying', async () => {
    const c = client();
    const e = await failure(c.list());
    expect([e.code, e.status]).toEqual(['unauthorized', 401]);
    const events: ConnectionEvent[] = [];
    c.on('connection', (ev) => events.push(ev));
    c.start();
    await new Promise<void>((resolve) => {
      const off = c.on('connection', () => {
        if (events.filter((ev) => ev.state === 'reconnecting').length >= 3) {
          off();
          resolve();
        }
      });
    });
    expect(events.some((ev) => ev.state === 'connected')).toBe(false);
    expect(events.filter((ev) => ev.state === 'reconnecting').map((ev) => ev.attempt)).toEqual([1, 2, 3]);
    expect(events.find((ev) => ev.state === 'reconnecting')!.reason).toContain('401');
  });
});
