/**
 * Reload of a running gateway (in process, real uWS server): only the drivers whose devices
 * changed restart, unchanged devices keep their seq, settings bound at start are named, and a
 * broken file changes nothing. Plus the operations endpoints behind `mgw status`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/platform/logger.js';
import { Daemon, type ReloadOutcome } from '../../src/platform/daemon.js';
import { SystemdNotifier } from '../../src/platform/notify.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function yaml(devices: { id: string; model?: string; poll?: number }[], extra = ''): string {
  return `server:\n  port: 0\n${extra}devices:\n${devices.map((d) => `  - { id: ${d.id}, driver: simulator, model: ${d.model ?? 'motor'}, poll_interval_ms: ${d.poll ?? 50} }\n`).join('')}`;
}

async function startDaemon(text: string, env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/fake' }, runtimeDir?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-reload-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  const logs: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) logs.push(JSON.parse(l));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination: destination as never, journald: false });
  const sent: string[] = [];
  // A notifier whose sd_notify records the messages (systemd itself is covered by notify.test.ts).
  const notifier = new SystemdNotifier({ env, send: (_u, s) => (sent.push(s), 1) });
  const daemon = new Daemon({ config: loadConfigFile(file), file, log, notifier, statusIntervalMs: 100, runtimeDir });
  const port = await daemon.start();
  cleanups.push(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { daemon, file, logs, sent, url: `http://127.0.0.1:${port}` };
}

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The last RELOADING=1 and the READY=1 that ended it, with no other READY=1 between. The periodic
 * STATUS= line (every 100 ms here) may fall between them while the reload writes its audit record.
 */
function reloadPair(sent: string[]): [string | undefined, string | undefined] {
  const i = sent.findLastIndex((m) => m.startsWith('RELOADING=1'));
  const ready = sent.slice(i + 1).filter((m) => m.startsWith('READY=1'));
  expect(ready.length, sent.slice(i).join(' | ')).toBe(1);
  return [sent[i], ready[0]];
}

describe('reload', () => {
  it('refuses a broken file, keeps every device, and says why in STATUS and the log', async () => {
    const g = await startDaemon(yaml([{ id: 'm1' }, { id: 'm2' }]));
    writeFileSync(g.file, 'devices:\n  - { id: m1, driver: simulator, model: robot }\n  - { id: m1, driver: simulator, model: motor }\n');
    const r = await g.daemon.reload();
    expect(r.ok).toBe(false);
    expect((r as Extract<ReloadOutcome, { ok: false }>).problems).toEqual(expect.arrayContaining([expect.stringContaining('devices[0].model')]));
    expect(g.daemon.gateway.registry.ids()).toEqual(['m1', 'm2']);
    const [reloading, ready] = reloadPair(g.sent);
    expect(reloading).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    expect(ready).toMatch(/^READY=1\nSTATUS=.*last reload refused: .*devices\[0\]\.model/);
    expect(g.logs.find((l) => String(l['msg']).startsWith('reload refused'))?.['level']).toBe(50);
  });

  it('keeps an unchanged driver running and its devices seq continuing; names settings that need a restart', async () => {
    const g = await startDaemon(yaml([{ id: 'm1' }, { id: 'm2' }]));
    const registry = g.daemon.gateway.registry;
    const driverBefore = g.daemon.gateway.driverList()[0];
    await until(() => (registry.seq('m1') ?? 0) > 2, 'polls');
    // Only a setting bound at start changes: the driver stays, seq keeps counting.
    writeFileSync(g.file, yaml([{ id: 'm1' }, { id: 'm2' }], 'log:\n  level: debug\nhealth:\n  driver_stall_s: 30\n').replace('port: 0', 'port: 0\n  max_connections: 7'));
    const seqBefore = registry.seq('m1')!;
    const r = (await g.daemon.reload()) as Extract<ReloadOutcome, { ok: true }>;
    expect(r.ok).toBe(true);
    expect(r.restart_required).toEqual(['log.level', 'server.max_connections']);
    expect(r.drivers_restarted).toEqual([]);
    expect(g.daemon.gateway.driverList()[0]).toBe(driverBefore);
    expect(g.daemon.gateway.config.health.driver_stall_s).toBe(30);
    expect(g.daemon.gateway.config.server.max_connections).toBe(100);
    expect(registry.seq('m1')!).toBeGreaterThanOrEqual(seqBefore);
    expect(g.logs.some((l) => l['level'] === 40 && (l['settings'] as string[] | undefined)?.includes('server.max_connections'))).toBe(true);
  });

  it('restarts the driver whose devices changed, adds and removes devices, and answers over REST', async () => {
    const g = await startDaemon(yaml([{ id: 'm1' }, { id: 'm2' }]));
    const before = g.daemon.gateway.driverList()[0];
    writeFileSync(g.file, yaml([{ id: 'm1' }, { id: 's1', model: 'sensor' }]));
    const res = await fetch(`${g.url}/api/v1/admin/reload`, { method: 'POST' });
    expect(res.status).toBe(200);
    const r = (await res.json()) as Extract<ReloadOutcome, { ok: true }>;
    expect(r).toMatchObject({ ok: true, drivers_restarted: ['simulator'], devices_added: ['s1'], devices_removed: ['m2'], errors: [] });
    expect(g.daemon.gateway.driverList()[0]).not.toBe(before);
    expect(g.daemon.gateway.registry.ids().sort()).toEqual(['m1', 's1']);
    // The new driver polls: the added device comes online.
    await until(() => g.daemon.gateway.registry.snapshot('s1')?.online, 's1 online');

    writeFileSync(g.file, 'devices: []\n');
    const bad = await fetch(`${g.url}/api/v1/admin/reload`, { method: 'POST' });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { error_code: string; message: string; problems: string[] };
    expect(body.error_code).toBe('invalid_config');
    expect(body.problems).toEqual(['devices: must list at least one device']);
    expect(body.message).toContain('still running on the previous configuration');
  });
});

describe('reload with Modbus buses', () => {
  // Nothing listens on 127.0.0.1:1: the buses exist (and keep reconnecting) without a peer.
  const bus = (id: string, timeout = 300) => `  - { id: ${id}, kind: tcp, host: 127.0.0.1, port: 1, timeout_ms: ${timeout} }\n`;
  const dev = (id: string, b: string) => `  - { id: ${id}, driver: modbus, bus: ${b}, unit: 1, profile: vfd }\n`;
  const cfg = (buses: string, devices: string) => `server:\n  port: 0\nbuses:\n${buses}devices:\n  - { id: m1, driver: simulator, model: motor, poll_interval_ms: 50 }\n${devices}`;

  it('restarts only the bus whose settings changed and starts a bus added with its devices', async () => {
    const g = await startDaemon(cfg(bus('a') + bus('b'), dev('x1', 'a') + dev('y1', 'b')));
    const ids = () => g.daemon.gateway.driverList().map((d) => d.id);
    expect(ids()).toEqual(['simulator', 'modbus:a', 'modbus:b']);
    const [sim, , busB] = g.daemon.gateway.driverList();

    writeFileSync(g.file, cfg(bus('a', 500) + bus('b'), dev('x1', 'a') + dev('y1', 'b')));
    let r = (await g.daemon.reload()) as Extract<ReloadOutcome, { ok: true }>;
    expect(r).toMatchObject({ ok: true, drivers_restarted: ['modbus:a'], drivers_started: [], drivers_stopped: [], restart_required: [] });
    expect(g.daemon.gateway.driverList()[0]).toBe(sim);
    expect(g.daemon.gateway.driverList()[2]).toBe(busB);

    writeFileSync(g.file, cfg(bus('a', 500) + bus('c'), dev('x1', 'a') + dev('z1', 'c')));
    r = (await g.daemon.reload()) as Extract<ReloadOutcome, { ok: true }>;
    expect(r).toMatchObject({ drivers_restarted: [], drivers_started: ['modbus:c'], drivers_stopped: ['modbus:b'], devices_added: ['z1'], devices_removed: ['y1'] });
    expect(ids()).toEqual(['simulator', 'modbus:a', 'modbus:c']);
    expect(g.daemon.gateway.registry.ids().sort()).toEqual(['m1', 'x1', 'z1']);
  });
});

describe('mgw reload and mgw status', () => {
  const CLI = join(import.meta.dirname, '../../dist/src/cli/main.js');
  const mgw = (url: string, ...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(process.execPath, [CLI, '--url', url, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (error, out, err) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
      );
    });

  it('reports what a reload did, and exits 78 with every problem when the file is broken', async () => {
    const g = await startDaemon(yaml([{ id: 'm1' }]));
    writeFileSync(g.file, yaml([{ id: 'm1' }, { id: 'm2' }]).replace('port: 0', 'port: 0\n  max_connections: 5'));
    const ok = await mgw(g.url, 'reload');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('drivers: restarted simulator');
    expect(ok.out).toContain('devices added: m2');
    expect(ok.out).toContain('changed but applied only after a restart: server.max_connections');

    writeFileSync(g.file, 'server:\n  port: 70000\ndevices:\n  - { id: m1, driver: simulator, model: robot }\n');
    const bad = await mgw(g.url, 'reload');
    expect(bad.code).toBe(78);
    expect(bad.err).toContain('invalid_config');
    expect(bad.err).toContain('server.port: must be <= 65535');
    expect(bad.err).toContain('devices[0].model');

    const status = await mgw(g.url, 'status');
    expect(status.code, status.err).toBe(0);
    expect(status.out).toMatch(/^machine-gateway {2}ok {2}up /);
    expect(status.out).toMatch(/devices {3}\d\/2 online/);
    expect(status.out).toMatch(/simulator {2}2 /);
  });
});

describe('reload over REST with tokens', () => {
  it('needs role admin; status and metrics need a viewer token', async () => {
    const hash = (t: string) => `sha256:${createHash('sha256').update(t, 'utf8').digest('hex')}`;
    const auth = `auth:\n  tokens:\n    - { name: panel, role: viewer, hash: "${hash('viewer-token-0123456789')}" }\n    - { name: boss, role: admin, hash: "${hash('admin-token-0123456789')}" }\n`;
    const g = await startDaemon(yaml([{ id: 'm1' }], auth));
    const post = (token?: string) => fetch(`${g.url}/api/v1/admin/reload`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} });
    expect((await post()).status).toBe(401);
    expect((await post('viewer-token-0123456789')).status).toBe(403);
    expect((await post('admin-token-0123456789')).status).toBe(200);
    expect((await fetch(`${g.url}/api/v1/status`)).status).toBe(401);
    expect((await fetch(`${g.url}/metrics`, { headers: { Authorization: 'Bearer viewer-token-0123456789' } })).status).toBe(200);
  });
});

describe('a reload the running gateway refuses (valid file, refused by the auth rules)', () => {
  const hash = (t: string) => `sha256:${createHash('sha256').update(t, 'utf8').digest('hex')}`;
  const ADMIN = 'admin-token-0123456789';
  const lan = (tokens: boolean) =>
    `server:\n  host: 0.0.0.0\n  port: 0\n${tokens ? `auth:\n  tokens:\n    - { name: boss, role: admin, hash: "${hash(ADMIN)}" }\n` : ''}devices:\n  - { id: m1, driver: simulator, model: motor, poll_interval_ms: 50 }\n`;
  const refusedLine = (logs: Record<string, any>[]) => logs.find((l) => String(l['msg']).startsWith('reload refused'));

  it('tells systemd READY=1 again, keeps the tokens, and answers REST with invalid_config and the reason', async () => {
    const g = await startDaemon(lan(true));
    writeFileSync(g.file, lan(false));
    const res = await fetch(`${g.url}/api/v1/admin/reload`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}` } });
    const body = (await res.json()) as { error_code: string; message: string; problems: string[] };
    expect(res.status, JSON.stringify(body)).toBe(422);
    expect(body.error_code).toBe('invalid_config');
    expect(body.problems).toEqual([expect.stringContaining('refusing to drop every token while listening on 0.0.0.0')]);
    const [reloading, ready] = reloadPair(g.sent);
    expect(reloading).toMatch(/^RELOADING=1\n/);
    expect(ready).toMatch(/^READY=1\nSTATUS=.*last reload refused: .*refusing to drop every token/);
    expect(refusedLine(g.logs)?.['level']).toBe(50);
    // Still guarded by the old tokens.
    expect((await fetch(`${g.url}/api/v1/status`)).status).toBe(401);
  });

  it('logs the refusal of a SIGHUP reload', async () => {
    const g = await startDaemon(lan(true));
    writeFileSync(g.file, lan(false));
    process.kill(process.pid, 'SIGHUP');
    const line = await until(() => refusedLine(g.logs), 'the refusal in the log');
    expect(line['problems']).toEqual([expect.stringContaining('refusing to drop every token')]);
    expect(g.sent.at(-1)).toMatch(/^READY=1\n/);
  });
});

describe("the unit's ExecReload (reload-wait.js)", () => {
  const WAIT = join(import.meta.dirname, '../../dist/src/platform/reload-wait.js');
  const wait = (runtimeDir: string) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(process.execPath, [WAIT, String(process.pid)], { env: { ...process.env, RUNTIME_DIRECTORY: runtimeDir } }, (error, out, err) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
      );
    });

  it('exits 0 for an applied reload and 78 with the reasons for a refused one', async () => {
    const run = mkdtempSync(join(tmpdir(), 'mgw-run-'));
    cleanups.push(() => rmSync(run, { recursive: true, force: true }));
    const g = await startDaemon(yaml([{ id: 'm1' }]), { NOTIFY_SOCKET: '/run/fake' }, run);
    writeFileSync(g.file, yaml([{ id: 'm1' }, { id: 'm2' }]));
    const ok = await wait(run);
    expect(ok.code, ok.err).toBe(0);
    expect(g.daemon.gateway.registry.ids()).toEqual(['m1', 'm2']);
    writeFileSync(g.file, 'devices: []\n');
    const bad = await wait(run);
    expect(bad.code).toBe(78);
    expect(bad.err).toContain('reload refused');
    expect(bad.err).toContain('devices: must list at least one device');
  });
});

describe('operations endpoints', () => {
  it('serves /metrics in Prometheus text format and /api/v1/status for mgw status', async () => {
    const g = await startDaemon(yaml([{ id: 'm1' }, { id: 'm2' }]));
    await until(() => g.daemon.gateway.registry.list().every((d) => d.online), 'devices online');
    g.daemon.gateway.health.check();
    const res = await fetch(`${g.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    // Every sample line is `name{labels} number`, every metric has HELP and TYPE (names as Prometheus allows: digits after the first character).
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) [a-z_][a-z0-9_]* .+|[a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[\d.e+-]+|NaN)$/);
    expect(text).toContain('mgw_alarm_rate_10m 0\n');
    expect(text).toContain('mgw_registry_devices 2\n');
    expect(text).toContain('mgw_devices_online 2\n');
    expect(text).toMatch(/mgw_driver_stat\{driver="simulator",name="polls"\} [1-9]\d*/);
    expect(text).toMatch(/mgw_event_loop_delay_seconds\{quantile="0.99"\} [\d.e-]+/);
    expect(text).toMatch(/process_resident_memory_bytes [1-9]\d*/);
    expect(text).toContain('mgw_healthy 1\n');

    const status = (await (await fetch(`${g.url}/api/v1/status`)).json()) as Record<string, any>;
    expect(status).toMatchObject({ status: 'ok', problems: [], clients: 0, devices: { total: 2, online: 2, offline: [] } });
    expect(status['drivers'][0]).toMatchObject({ id: 'simulator', devices: 2 });
    expect(status['drivers'][0].last_progress_age_s).toBeLessThan(60);
  });

  it('reports unhealthy and withholds the watchdog when a driver stops making progress', async () => {
    // WATCHDOG_USEC 200 ms: the daemon checks health and pings every 100 ms.
    const g = await startDaemon(yaml([{ id: 'm1' }], 'health:\n  driver_stall_s: 1\n'), { NOTIFY_SOCKET: '/run/fake', WATCHDOG_USEC: '200000' });
    const gw = g.daemon.gateway;
    await until(() => g.sent.includes('WATCHDOG=1'), 'the first ping');
    await gw.driverList()[0]!.stop(); // a wedged driver: no more transactions
    const unhealthyAt = await until(() => {
      const i = g.sent.findIndex((m) => m.startsWith('STATUS=unhealthy: driver simulator made no progress'));
      return i >= 0 ? i : undefined;
    }, 'the stall to be noticed', 5000);
    const withheld = () => g.logs.filter((l) => l['msg'] === 'unhealthy; watchdog ping withheld').length;
    const n = withheld();
    await until(() => withheld() >= n + 3, 'three more watchdog periods');
    expect(g.sent.slice(unhealthyAt).filter((m) => m === 'WATCHDOG=1')).toEqual([]);
    expect(gw.health.state.problems[0]).toMatch(/^driver simulator made no progress for \d+ s \(limit 1 s\)$/);
    const status = (await (await fetch(`${g.url}/api/v1/status`)).json()) as Record<string, any>;
    expect(status['status']).toBe('unhealthy');
    expect(await (await fetch(`${g.url}/metrics`)).text()).toContain('mgw_healthy 0\n');
  });
});
