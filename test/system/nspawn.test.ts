/**
 * The unit under a real systemd: a minimal Debian bookworm booted with systemd-nspawn (the tree
 * is built once by test/system/nspawn-tree.sh and cached in /var/cache/machine-gateway-test),
 * the gateway installed into it by systemd/install.sh the way README.md says, with the host's
 * Node binary. Needs root, systemd-nspawn and debootstrap (test/setup.sh installs them).
 *
 * A test-only drop-in shortens WatchdogSec and RestartSec and enables the hang trigger; the
 * shipped unit is otherwise unchanged. Run by hand:
 *   npm run build && npx vitest run --config test/vitest.config.ts test/system/nspawn.test.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCI, peers } from '../helpers/peers.js';

const REPO = resolve(import.meta.dirname, '../..');
const CACHE = process.env['MGW_NSPAWN_CACHE'] ?? '/var/cache/machine-gateway-test';
const isRoot = process.getuid?.() === 0;
const WATCHDOG_S = 3;

function canRun(): boolean {
  if (!isRoot) {
    if (inCI) throw new Error('the systemd boot test needs root (systemd-nspawn)');
    console.warn('skipping: the systemd boot test needs root');
    return false;
  }
  return peers('systemd-nspawn', 'debootstrap', 'nsenter');
}

const CONFIG = (devices: number) =>
  `server:\n  host: 127.0.0.1\n  port: 8000\nlog:\n  level: info\ndevices:\n${Array.from({ length: devices }, (_, i) => `  - { id: motor_0${i + 1}, driver: simulator, model: motor, poll_interval_ms: 200 }\n`).join('')}`;

let root = '';
let nspawn: ChildProcess | undefined;
let initPid = 0;
const timings: Record<string, number> = {};

function sh(cmd: string, args: string[], opts: { input?: string } = {}): { status: number | null; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: 120_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

/** Runs a command inside the booted container (all of its namespaces). */
function inCt(...args: string[]): { status: number | null; out: string; stdout: string } {
  return sh('nsenter', ['-t', String(initPid), '-m', '-u', '-i', '-n', '-p', '--', ...args]);
}

function show(...props: string[]): Record<string, string> {
  const r = inCt('systemctl', 'show', 'machine-gateway.service', ...props.map((p) => `--property=${p}`));
  return Object.fromEntries(
    r.out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function journal(...args: string[]): { MESSAGE?: string; PRIORITY?: string; SYSLOG_IDENTIFIER?: string; __MONOTONIC_TIMESTAMP?: string; _PID?: string }[] {
  const r = inCt('journalctl', '--no-pager', '-o', 'json', ...args);
  return r.out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, string>)
    .map((e) => ({ ...e, MESSAGE: Array.isArray(e['MESSAGE']) ? Buffer.from(e['MESSAGE'] as unknown as number[]).toString() : e['MESSAGE'] }));
}

/** `ActiveEnterTimestamp=Thu 2026-11-26 00:31:10.123456 UTC` -> microseconds since the epoch. */
function parseUsUtc(line: string): number {
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6}) UTC/.exec(line);
  if (!m) throw new Error(`no timestamp in ${JSON.stringify(line)}`);
  return Date.parse(`${m[1]}T${m[2]}Z`) * 1000 + Number(m[3]);
}

const mainPid = () => Number(show('MainPID')['MainPID']);
const active = () => show('ActiveState')['ActiveState'] === 'active';

describe.skipIf(!canRun())('machine-gateway under a real systemd (systemd-nspawn)', () => {
  beforeAll(async () => {
    let t = Date.now();
    const tree = sh('bash', [join(REPO, 'test/system/nspawn-tree.sh'), CACHE]);
    expect(tree.status, tree.out).toBe(0);
    root = tree.out.trim().split('\n').pop()!;
    timings['tree_ms'] = Date.now() - t;

    t = Date.now();
    expect(existsSync(join(REPO, 'dist/src/cli/main.js')), 'run `npm run build` first').toBe(true);
    // Node: the host's binary (Node 20; its libraries are all in a bookworm minbase).
    const node = join(root, 'usr/bin/node');
    if (!existsSync(node) || statSync(node).size !== statSync(process.execPath).size) copyFileSync(process.execPath, node);
    const install = sh('bash', [join(REPO, 'systemd/install.sh'), '--root', root, '--skip-build']);
    expect(install.status, install.out).toBe(0);
    // Test-only settings: a short watchdog and restart delay, and the hang trigger.
    mkdirSync(join(root, 'etc/systemd/system/machine-gateway.service.d'), { recursive: true });
    writeFileSync(
      join(root, 'etc/systemd/system/machine-gateway.service.d/test.conf'),
      `[Service]\nWatchdogSec=${WATCHDOG_S}s\nRestartSec=500ms\nEnvironment=MGW_TEST_HANG_ON_SIGUSR2=1\n`,
    );
    writeFileSync(join(root, 'etc/machine-gateway/gateway.yaml'), CONFIG(4));
    // A fresh journal per run, so old runs' lines cannot satisfy this one's checks.
    sh('rm', ['-rf', join(root, 'var/log/journal'), join(root, 'var/lib/machine-gateway/audit.jsonl')]);
    timings['install_ms'] = Date.now() - t;

    t = Date.now();
    const log = openSync(join(CACHE, 'boot.log'), 'w');
    nspawn = spawn('systemd-nspawn', ['-D', root, '-b', '--register=no', '--keep-unit', '--private-network', '--quiet'], { stdio: ['ignore', log, log] });
    const nspawnPid = nspawn.pid!;
    initPid = await until('the container init', () => {
      const r = sh('pgrep', ['-P', String(nspawnPid)]);
      const pid = Number(r.out.trim().split('\n')[0]);
      return pid > 0 ? pid : undefined;
    });
    await until('systemd to finish booting', () => ['running', 'degraded'].includes(inCt('systemctl', 'is-system-running').out.trim()));
    timings['boot_ms'] = Date.now() - t;
  }, 600_000);

  afterAll(async () => {
    if (nspawn && nspawn.exitCode === null) {
      // SIGTERM asks the container for an orderly poweroff.
      nspawn.kill('SIGTERM');
      const done = new Promise((r) => nspawn!.once('exit', r));
      const timer = setTimeout(() => nspawn!.kill('SIGKILL'), 20_000);
      await done;
      clearTimeout(timer);
    }
    console.info(`nspawn test timings: ${JSON.stringify(timings)}`);
  }, 60_000);

  it('is active only after the gateway said READY, with a STATUS line', async () => {
    await until('the unit to be active', active, 60_000);
    const entries = journal('-u', 'machine-gateway.service');
    const logTime = (msg: string) => {
      const e = entries.find((x) => x.MESSAGE?.includes(`"msg":"${msg}"`));
      expect(e, `log line ${msg}`).toBeDefined();
      return Date.parse(JSON.parse(e!.MESSAGE!.replace(/^<\d>/, '')).time as string) * 1000;
    };
    // The gateway's own clock (ms) against systemd's state change (us): the unit became active
    // no earlier than the moment the server listened and the last driver started.
    const activeAt = parseUsUtc(inCt('systemctl', 'show', '--timestamp=us+utc', '--property=ActiveEnterTimestamp', 'machine-gateway.service').out);
    expect(activeAt).toBeGreaterThanOrEqual(logTime('listening'));
    expect(activeAt).toBeGreaterThanOrEqual(logTime('driver started'));
    expect(activeAt).toBeGreaterThanOrEqual(logTime('gateway ready'));
    const ready = entries.find((e) => e.MESSAGE?.includes('"msg":"gateway ready"'));
    const s = show('StatusText', 'User', 'NRestarts', 'WatchdogUSec');
    expect(s['StatusText']).toMatch(/^\d\/4 devices online, 0 clients/);
    expect(s['WatchdogUSec']).toBe(`${WATCHDOG_S}s`);
    // Journald priorities: info lines are priority 6, not all-the-same 6-or-3 from stdout/stderr.
    expect(ready!.PRIORITY).toBe('6');
    expect(ready!.SYSLOG_IDENTIFIER).toBe('machine-gateway');
    // The technician's view from inside the box.
    const status = inCt('/usr/local/bin/mgw', '--url', 'http://127.0.0.1:8000', 'status');
    expect(status.status, status.out).toBe(0);
    expect(status.out).toMatch(/devices\s+\d\/4 online/);
    // A control write under the hardened unit: the audit trail lands in StateDirectory, private
    // to the service user (UMask=0077).
    const set = inCt('/usr/local/bin/mgw', '--url', 'http://127.0.0.1:8000', 'set', 'motor_01', 'speed=1200');
    expect(set.status, set.out).toBe(0);
    const audit = join(root, 'var/lib/machine-gateway/audit.jsonl');
    await until('the audit line', () => existsSync(audit) && readFileSync(audit, 'utf8').includes('"speed":1200'));
    expect(statSync(audit).mode & 0o777).toBe(0o600);
    const owner = inCt('stat', '-c', '%U', '/var/lib/machine-gateway/audit.jsonl');
    expect(owner.stdout.trim()).toBe('machine-gateway');
    // The installed copy serves the built-in HMI page (its files came along with dist/).
    const page = inCt('/usr/bin/node', '-e', "fetch('http://127.0.0.1:8000/').then(async (r) => console.log(r.status, (await r.text()).includes('<html')))");
    expect(page.stdout.trim()).toBe('200 true');
  });

  it('restarts after kill -9 of the main process', async () => {
    const before = mainPid();
    const restarts = Number(show('NRestarts')['NRestarts']);
    const t = Date.now();
    expect(inCt('systemctl', 'kill', '--kill-who=main', '--signal=SIGKILL', 'machine-gateway.service').status).toBe(0);
    await until('a new main process', () => {
      const s = show('MainPID', 'ActiveState', 'NRestarts');
      return Number(s['MainPID']) !== before && Number(s['MainPID']) > 0 && s['ActiveState'] === 'active' && Number(s['NRestarts']) === restarts + 1;
    });
    timings['kill9_to_active_ms'] = Date.now() - t;
  });

  it('is killed by the watchdog when its event loop hangs, and restarted', async () => {
    const before = mainPid();
    const restarts = Number(show('NRestarts')['NRestarts']);
    const t = Date.now();
    expect(inCt('systemctl', 'kill', '--kill-who=main', '--signal=SIGUSR2', 'machine-gateway.service').status).toBe(0);
    await until(
      'the watchdog to restart the service',
      () => {
        const s = show('MainPID', 'ActiveState', 'NRestarts');
        return Number(s['MainPID']) !== before && s['ActiveState'] === 'active' && Number(s['NRestarts']) === restarts + 1;
      },
      WATCHDOG_S * 1000 + 60_000,
    );
    timings['hang_to_active_ms'] = Date.now() - t;
    const lines = journal('-u', 'machine-gateway.service').map((e) => e.MESSAGE ?? '');
    expect(lines.some((m) => m.includes('Watchdog timeout'))).toBe(true);
  });

  it('keeps running on the old config when a reload finds a broken one, and applies a good one', async () => {
    const pid = mainPid();
    writeFileSync(join(root, 'etc/machine-gateway/gateway.yaml'), 'devices:\n  - { id: motor_01, driver: simulator, model: robot }\n');
    const r = inCt('systemctl', 'reload', 'machine-gateway.service');
    expect(r.status, r.out).toBe(0);
    await until('STATUS to report the refused reload', () => show('StatusText')['StatusText']?.includes('last reload refused'));
    expect(mainPid()).toBe(pid);
    expect(active()).toBe(true);
    const errors = journal('-u', 'machine-gateway.service', '-p', 'err').map((e) => e.MESSAGE ?? '');
    expect(errors.some((m) => m.includes('reload refused') && m.includes('devices[0].model'))).toBe(true);
    const devices = inCt('/usr/local/bin/mgw', '--url', 'http://127.0.0.1:8000', '--json', 'status');
    expect(JSON.parse(devices.stdout).devices.total, devices.out).toBe(4);

    writeFileSync(join(root, 'etc/machine-gateway/gateway.yaml'), CONFIG(5));
    expect(inCt('systemctl', 'reload', 'machine-gateway.service').status).toBe(0);
    await until('STATUS to show five devices', () => /\/5 devices online/.test(show('StatusText')['StatusText'] ?? ''));
    expect(mainPid()).toBe(pid);
  });

  it('stops cleanly and quickly', () => {
    const t = Date.now();
    const r = inCt('systemctl', 'stop', 'machine-gateway.service');
    timings['stop_ms'] = Date.now() - t;
    expect(r.status, r.out).toBe(0);
    const s = show('ActiveState', 'Result', 'ExecMainStatus', 'ExecMainCode');
    // Result=success and exit status 0: it stopped itself on SIGTERM; had it overrun
    // TimeoutStopSec, systemd would have killed it and Result would be "timeout".
    expect(s).toMatchObject({ ActiveState: 'inactive', Result: 'success', ExecMainStatus: '0' });
    const lines = journal('-u', 'machine-gateway.service').map((e) => e.MESSAGE ?? '');
    expect(lines.some((m) => m.includes('"msg":"gateway stopped"'))).toBe(true);
    expect(readFileSync(join(CACHE, 'boot.log'), 'utf8')).not.toContain('Failed to start machine-gateway');
  });
});
