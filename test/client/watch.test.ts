/**
 * `mgw watch` itself, as a technician runs it: the built CLI in a real terminal (tmux), piped,
 * and with --json, against a real gateway whose connections the test cuts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { contiguityProblem, until } from './fixtures.js';
import { CLI, requireBuiltCli, runCli, stopChild, type Child } from './processes.js';

let gw: RunningGateway;
beforeAll(async () => {
  requireBuiltCli();
  gw = await startGateway({
    log: { level: 'warn' },
    devices: [
      { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 100 },
      { id: 'motor_02', driver: 'simulator', model: 'motor', poll_interval_ms: 150 },
      { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 200 },
    ],
  });
});
afterAll(async () => {
  await gw?.stop();
});

/** Cuts every WebSocket from the server side (uWS close: no close frame). */
function cutAll(): void {
  const sockets = (gw.gateway.server as unknown as { sockets?: Set<{ close(): void }> }).sockets;
  if (sockets === undefined) throw new Error('Server no longer keeps `sockets`: update this test');
  for (const s of [...sockets]) s.close();
}

const UPDATE_LINE = /^\d\d:\d\d:\d\d\.\d{3} {2}(\S+) {2}(.+) {2}(poll|device_control|stream|status) #(\d+)$/;

describe('mgw watch, piped', () => {
  it('prints one line per update, in seq order across a dropped connection, and notes the reconnect on stderr', async () => {
    let child: Child | undefined;
    try {
      child = runCli(['--url', gw.url, 'watch', 'motor_01', '--count', '15']);
      const c = child;
      await until(() => c.stdout.split('\n').length > 3, 10_000, `first lines (stderr: ${c.stderr})`);
      cutAll();
      await until(() => c.stderr.includes('reconnected to'), 10_000, `the reconnect (stderr: ${c.stderr})`);
      const { status } = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 777 });
      expect(status).toBe(200);
      expect(await c.exited).toBe(0);

      const lines = c.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(15);
      const parsed = lines.map((l) => {
        const m = UPDATE_LINE.exec(l);
        expect(m, `not an update line: ${JSON.stringify(l)}`).not.toBeNull();
        return { device: m![1]!, values: m![2]!, action: m![3]!, seq: Number(m![4]) };
      });
      expect(new Set(parsed.map((p) => p.device))).toEqual(new Set(['motor_01']));
      expect(contiguityProblem(parsed.map((p) => p.seq), parsed[0]!.seq - 1)).toBeUndefined();
      expect(parsed.some((p) => p.action === 'device_control' && p.values.includes('speed=777'))).toBe(true);
      expect(c.stderr).toMatch(/disconnected \(\d+.*\); reconnecting in/);
    } finally {
      await stopChild(child);
    }
  });

  it('--json prints one JSON object per line: connection changes, snapshots and updates', async () => {
    let child: Child | undefined;
    try {
      child = runCli(['--url', gw.url, '--json', 'watch', '--count', '5']);
      expect(await child.exited).toBe(0);
      const objects = child.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, any>);
      expect(objects.find((o) => o['type'] === 'connection' && o['state'] === 'connected')).toMatchObject({ resumed: false });
      expect(objects.filter((o) => o['type'] === 'resync' && o['reason'] === 'initial').map((o) => o['device_id']).sort()).toEqual(['motor_01', 'motor_02', 'sensor_01']);
      const updates = objects.filter((o) => o['type'] === 'update');
      expect(updates).toHaveLength(5);
      for (const u of updates) {
        expect(typeof u['seq']).toBe('number');
        expect(Object.keys(u['new_state']).length).toBeGreaterThan(0);
      }
    } finally {
      await stopChild(child);
    }
  });

  it('stops quietly when the reader goes away (mgw watch | head -1)', async () => {
    // Async: the gateway runs in this process and must keep serving while the pipe runs.
    const pipeline = spawn('sh', ['-c', `"${process.execPath}" "${CLI}" --url ${gw.url} watch | head -1; echo "exit=$?"`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    pipeline.stdout.on('data', (d: Buffer) => (out += d.toString()));
    pipeline.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => pipeline.kill('SIGTERM'), 15_000);
    const code = await new Promise<number | null>((resolve) => pipeline.once('exit', resolve));
    clearTimeout(timer);
    expect(code).toBe(0);
    const [line, exit] = out.trimEnd().split('\n');
    expect(line).toMatch(UPDATE_LINE);
    expect(exit).toBe('exit=0');
    expect(err).not.toMatch(/EPIPE|Error/);
  });
});

describe.skipIf(!peers('tmux'))('mgw watch in a terminal', () => {
  it('updates one table in place and shows the reconnect, and Ctrl-C ends it', async () => {
    const sock = `mgw-watch-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const screen = () => tmux('capture-pane', '-p');
    const seqOf = (text: string) => Number(/^motor_01\s+(?:online|offline)\s+(\d+)/m.exec(text)?.[1] ?? NaN);
    try {
      tmux('new-session', '-d', '-x', '160', '-y', '40', `${process.execPath} ${CLI} --url ${gw.url} watch`);
      await until(() => /^sensor_01\s+online/m.test(screen()), 15_000, 'the table');
      const first = seqOf(screen());
      await until(() => seqOf(screen()) >= first + 5, 10_000, 'motor_01 to move on');
      // In place: one header and one row per device, however many redraws happened.
      const shown = screen();
      expect(shown.match(/^DEVICE\s+ONLINE\s+SEQ\s+AGE\s+VALUES/gm)).toHaveLength(1);
      expect(shown.match(/^motor_01 /gm)).toHaveLength(1);
      expect(shown).toMatch(/^connected to /m);

      cutAll();
      await until(() => /reconnects 1\b/.test(screen()), 10_000, `the reconnect on screen:\n${screen()}`);
      const after = screen();
      expect(after.match(/^DEVICE\s+ONLINE/gm)).toHaveLength(1);
      expect(after).toMatch(/reconnected to /);

      tmux('send-keys', 'C-c');
      await until(() => {
        try {
          tmux('has-session');
          return false;
        } catch {
          return true; // the command ended, and with it the only window
        }
      }, 10_000, 'watch to exit on Ctrl-C');
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // already gone with its last session
      }
    }
  });
});
