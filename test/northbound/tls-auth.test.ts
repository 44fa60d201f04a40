/**
 * The broker link with TLS and a password file (a real Mosquitto with a self-signed CA), and how a
 * refused or failing link shows in /readyz, /metrics, `mgw status` and the systemd STATUS line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Recorder } from '../helpers/mqtt-client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { mgw, until } from '../cli/helpers.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/platform/logger.js';
import { Daemon } from '../../src/platform/daemon.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let broker: Mosquitto;

async function secureBroker(): Promise<Mosquitto> {
  broker = new Mosquitto({ users: { 'press-gw': 'letmein', reader: 'readme' }, tls: true });
  cleanups.push(() => (broker.stop(), broker.cleanup()));
  await broker.start();
  return broker;
}

function secrets(password: string): { dir: string; passwordFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-tls-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const passwordFile = join(dir, 'pw');
  writeFileSync(passwordFile, `${password}\n`);
  return { dir, passwordFile };
}

async function gateway(mqtt: Record<string, unknown>, dir: string): Promise<RunningGateway> {
  const gw = await startGateway({ state_dir: dir, northbound: { enabled: true, mode: 'json', json: { prefix: 'sec' }, mqtt: { reconnect_min_ms: 200, reconnect_max_ms: 400, ...mqtt } } } as Partial<GatewayConfigInput>);
  cleanups.push(() => gw.stop());
  return gw;
}

const health = (gw: RunningGateway) => gw.gateway.consumers().find((c) => c.name === 'mqtt')!.health!();

const waitUntil = (cond: () => boolean, what: string, timeoutMs = 15_000) => until(cond, what, timeoutMs);

describe.skipIf(!peers('mosquitto', 'mosquitto_passwd', 'openssl'))('broker link: TLS, password, and how it shows', () => {
  test('connects over TLS with the CA file, a user name and a password file', async () => {
    const b = await secureBroker();
    const { dir, passwordFile } = secrets('letmein');
    const gw = await gateway({ url: b.tlsUrl, ca_file: b.ca, username: 'press-gw', password_file: passwordFile }, dir);
    const sub = await Recorder.connect(b.url, ['sec/status'], { username: 'reader', password: 'readme' });
    cleanups.push(() => sub.close());
    await sub.waitFor((m) => m.text === 'online', 'status online over TLS');
    await waitUntil(() => health(gw).ok, 'link up');
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  });

  test('a wrong password: refused with the reason in /readyz, /metrics and mgw status; it keeps retrying and never crashes', async () => {
    const b = await secureBroker();
    const { dir, passwordFile } = secrets('wrong');
    const gw = await gateway({ url: b.url, username: 'press-gw', password_file: passwordFile }, dir);
    await waitUntil(() => (health(gw).counters!['connect_failures_total'] ?? 0) >= 2, 'two refused attempts');
    expect(health(gw).reason).toMatch(/not authorized|bad user name or password/);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { message: string }).message).toMatch(/^mqtt: broker mqtt:\/\/127\.0\.0\.1:\d+: not authorized/);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('mgw_consumer_up{consumer="mqtt"} 0');
    const status = await mgw(['status', '--url', gw.url]);
    expect(status.stdout).toMatch(/mqtt\s+down\s+broker mqtt:\/\/127\.0\.0\.1:\d+: not authorized/);
  });

  test('a broker certificate the CA file did not sign is refused', async () => {
    const b = await secureBroker();
    const { dir, passwordFile } = secrets('letmein');
    const gw = await gateway({ url: b.tlsUrl, username: 'press-gw', password_file: passwordFile }, dir);
    await waitUntil(() => (health(gw).counters!['connect_failures_total'] ?? 0) >= 1, 'a refused attempt');
    expect(health(gw).reason).toMatch(/certificate/i);
    expect(health(gw).counters!['connects_total']).toBe(0);
  });

  test('the systemd STATUS line names the broker link', async () => {
    const b = await secureBroker();
    const { dir, passwordFile } = secrets('letmein');
    const config = validateConfig({
      server: { port: 0 },
      state_dir: dir,
      devices: [{ id: 'm1', driver: 'simulator', model: 'motor', poll_interval_ms: 50 }],
      northbound: { enabled: true, mode: 'json', mqtt: { url: b.url, username: 'press-gw', password_file: passwordFile } },
    });
    const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) as never, journald: false });
    const daemon = new Daemon({ config, file: join(dir, 'none.yaml'), log });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    await waitUntil(() => daemon.statusLine().includes('mqtt up'), `STATUS with the link up (${daemon.statusLine()})`);
    await b.kill();
    await waitUntil(() => /mqtt down \(broker mqtt:\/\/127\.0\.0\.1:\d+: .+\), \d+ queued/.test(daemon.statusLine()), `STATUS with the link down (${daemon.statusLine()})`);
  });
});
