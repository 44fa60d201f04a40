/**
 * `mgw watch` as scripts and technicians use it, the built CLI against a real gateway: names the
 * gateway does not have end it at once (exit 65), piped lines keep the units, -W bounds it in
 * time like mosquitto_sub's, --points narrows it to some points, and the terminal table shows a
 * lost link instead of claiming every device is online.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { until } from './fixtures.js';
import { CLI, freePort, requireBuiltCli, runCli, stopChild, type Child } from './processes.js';

const DEVICES = [
  { id: 'motor_01', driver: 'simulator' as const, model: 'motor', poll_interval_ms: 100 },
  { id: 'sensor_01', driver: 'simulator' as const, model: 'sensor', poll_interval_ms: 100 },
];

/** Runs `mgw ...args` to its end (killed by stopChild if a test fails first). */
async function finished(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let child: Child | undefined;
  try {
    child = runCli(args);
    const code = await child.exited;
    return { code, stdout: child.stdout, stderr: child.stderr };
  } finally {
    await stopChild(child);
  }
}

describe('mgw watch: names, units, time limit and point filter', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    requireBuiltCli();
    gw = await startGateway({ log: { level: 'warn' }, devices: DEVICES });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a device the gateway does not have ends the watch with device_not_found, exit 65', async () => {
    const alone = await finished(['--url', gw.url, 'watch', 'nodev']);
    expect(alone.code).toBe(65);
    expect(alone.stderr).toContain('mgw: device_not_found: Device nodev not found');
    expect(alone.stdout).toBe('');

    const among = await finished(['--url', gw.url, 'watch', 'motor_01', 'nodev', 'other']);
    expect(among.code).toBe(65);
    expect(among.stderr).toContain('Devices nodev, other not found');

    const json = await finished(['--url', gw.url, '--json', 'watch', 'nodev']);
    expect(json.code).toBe(65);
    expect(JSON.parse(json.stderr.trim().split('\n').at(-1)!)).toEqual({ error: 'device_not_found: Device nodev not found', exit_code: 65 });
  });

  it('piped lines carry each value with its unit', async () => {
    const r = await finished(['--url', gw.url, 'watch', 'motor_01', '--count', '5']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    const withUnits = lines.filter((l) => /\b(actual_speed=[\d.]+ rpm|current=[\d.]+ A|temperature=[\d.]+ °C)/.test(l));
    expect(withUnits.length, r.stdout).toBeGreaterThan(0);
    // A value without a unit stays bare, and no number is left without the unit its point has.
    expect(r.stdout).not.toMatch(/\b(actual_speed|current|temperature|speed)=[\d.]+(?= {2}|$)/m);
    // The first snapshot on stderr too.
    expect(r.stderr).toMatch(/^motor_01 {2}online {2}.*speed=\d+ rpm/m);
  });

  it('--points shows only those points and skips updates that change none of them', async () => {
    const r = await finished(['--url', gw.url, 'watch', '--points', 'temperature', '--count', '6']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(l).toMatch(/^\S+ {2}(motor_01|sensor_01) {2}temperature=[-\d.]+ °C {2}(poll|stream) #\d+$/);

    const json = await finished(['--url', gw.url, '--json', 'watch', 'motor_01', '--points', 'speed,current', '--count', '3']);
    expect(json.code).toBe(0);
    const objects = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const updates = objects.filter((o) => o['type'] === 'update');
    expect(updates).toHaveLength(3);
    for (const u of updates) for (const k of Object.keys(u['new_state'])) expect(['speed', 'current']).toContain(k);
    expect(Object.keys(objects.find((o) => o['type'] === 'resync')!['state']).sort()).toEqual(['current', 'speed']);
  });

  it('--points with a name no watched device has is refused with the points there are, exit 65', async () => {
    const r = await finished(['--url', gw.url, 'watch', 'motor_01', '--points', 'sped']);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('--points: no device of motor_01 has a point "sped" (points: speed, running, actual_speed, current, temperature)');
  });

  it('-W ends a watch after that many seconds: exit 0, or 75 when --count updates did not come in time', async () => {
    const bounded = await finished(['--url', gw.url, 'watch', 'motor_01', '-W', '1']);
    expect(bounded.code).toBe(0);
    expect(bounded.stdout.trimEnd().split('\n').length).toBeGreaterThan(0);

    // Long enough for a busy machine to start the CLI and connect (else it is exit 69, no connection).
    const short = await finished(['--url', gw.url, 'watch', 'motor_01', '--timeout', '4', '--count', '1000000']);
    expect(short.code).toBe(75);
    expect(short.stderr).toMatch(/mgw: timed out after 4 s with \d+ of 1000000 updates/);
  });

  it('-W also bounds the wait for a gateway that is not there: exit 69', async () => {
    const r = await finished(['--url', `http://127.0.0.1:${await freePort()}`, 'watch', '-W', '0.5']);
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/timed out after 0\.5 s: no connection to the gateway at http:\/\/127\.0\.0\.1:\d+/);
  });

  it('bad option values are usage errors, exit 64', async () => {
    expect((await finished(['--url', gw.url, 'watch', '-W', '0'])).code).toBe(64);
    expect((await finished(['--url', gw.url, 'watch', '--points', 'speed,,running'])).code).toBe(64);
  });
});

describe.skipIf(!peers('tmux'))('mgw watch in a terminal while the gateway is down', () => {
  it('shows no link and marks every value stale, then live again once the gateway is back', async () => {
    const port = await freePort();
    let gw: RunningGateway | undefined = await startGateway({ log: { level: 'warn' }, server: { port }, devices: DEVICES });
    const sock = `mgw-watch-stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const screen = () => tmux('capture-pane', '-p');
    const rows = (text: string, pattern: string) => text.split('\n').filter((l) => new RegExp(`^(motor_01|sensor_01)\\s+${pattern}`).test(l)).length;
    try {
      tmux('new-session', '-d', '-x', '200', '-y', '30', `NO_COLOR=1 ${process.execPath} ${CLI} --url ${gw.url} watch`);
      await until(() => rows(screen(), 'online\\s+\\d+\\s+\\S+( \\S+)?\\s+(?!STALE)\\S+=') === 2, 15_000, `both devices online:\n${screen()}`);

      await gw.stop();
      gw = undefined;
      await until(() => rows(screen(), 'no link\\s+\\d+\\s+.*STALE\\s+\\S+=') === 2, 15_000, `no link and stale values:\n${screen()}`);
      const down = screen();
      expect(down).not.toMatch(/^\S+\s+online\b/m);
      expect(down).toMatch(/^disconnected, trying again in/m);
      expect(down).toMatch(/^motor_01\s+no link\s+\d+\s+.*STALE\s+speed=\d+ rpm/m);

      gw = await startGateway({ log: { level: 'warn' }, server: { port }, devices: DEVICES });
      await until(() => rows(screen(), 'online\\s+\\d+\\s+\\S+( \\S+)?\\s+(?!STALE)\\S+=') === 2, 20_000, `live again:\n${screen()}`);
      expect(screen()).not.toContain('STALE');
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // already gone with its last session
      }
      await gw?.stop();
    }
  });
});
