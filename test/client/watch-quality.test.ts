/**
 * A stale or bad value never reads as a good one in the CLI: `mgw watch` (piped, --json and on a
 * terminal in tmux), `mgw devices` and `mgw get`, the built CLI against a real gateway whose line
 * controller (a real PTY peer) turns points bad and stale.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { QUALITY_DEVICE as ID, qualityDevice, startQualityRig, type QualityRig } from '../integration/quality-fixtures.js';
import { until } from './fixtures.js';
import { CLI, requireBuiltCli, runCli, stopChild, type Child } from './processes.js';

const UPDATE_LINE = /^\d\d:\d\d:\d\d\.\d{3} {2}(\S+) {2}(.+) {2}(poll|device_control|stream|status) #(\d+)$/;

describe.skipIf(!peers('socat', 'python3'))('stale and bad values in the CLI', () => {
  let rig: QualityRig;
  let gw: RunningGateway;
  let child: Child | undefined;
  const snap = () => gw.gateway.registry.snapshot(ID)!;
  const lines = (c: Child) => c.stdout.split('\n').filter((l) => l !== '');

  beforeAll(async () => {
    requireBuiltCli();
    rig = await startQualityRig();
    gw = await startGateway({ log: { level: 'warn' }, devices: [qualityDevice(rig.path)] });
    await until(() => Object.keys(snap().quality).length === 3, 15_000, 'every point read once');
  });
  afterEach(async () => {
    await stopChild(child);
    child = undefined;
    // Every test starts from a controller that answers with a good speed.
    await rig.answer(true);
    await rig.speed(1200);
    await until(() => snap().online && snap().quality['speed'] === 'good' && snap().quality['temperature'] === 'good', 20_000, 'the controller back to good');
  });
  afterAll(async () => {
    await gw?.stop();
    await rig?.stop();
  });

  it('watch, piped: a quality change is a line of its own with the value kept and a word for its quality, offline included', async () => {
    const c = (child = runCli(['--url', gw.url, 'watch', ID]));
    // The first snapshot (on stderr) shows the point the controller refuses.
    await until(() => /press_q {2}online {2}.*load=- \[bad\]/.test(c.stderr), 20_000, `the snapshot (stderr: ${c.stderr})`);
    await rig.speed('x');
    await until(() => lines(c).some((l) => / {2}speed=1200 rpm \[bad\] {2}poll #\d+$/.test(l)), 15_000, `speed bad (stdout: ${c.stdout})`);
    await rig.speed(1250);
    await until(() => lines(c).some((l) => / {2}speed=1250 rpm {2}poll #\d+$/.test(l)), 15_000, `speed good at 1250 (stdout: ${c.stdout})`);
    await rig.answer(false);
    await until(() => lines(c).some((l) => /online=false/.test(l)), 15_000, `offline (stdout: ${c.stdout})`);
    const out = lines(c);
    for (const l of out) expect(l, `not an update line: ${JSON.stringify(l)}`).toMatch(UPDATE_LINE);
    // Every point is marked stale by the time the device is offline, each with its last value.
    const fromOffline = out.slice(out.findIndex((l) => / {2}speed=1250 rpm {2}poll/.test(l)) + 1).join('\n');
    expect(fromOffline).toMatch(/speed=1250 rpm \[stale\]/);
    expect(fromOffline).toMatch(/temperature=31\.5 °C \[stale\]/);
    expect(fromOffline).toMatch(/online=false.* {2}status #\d+$/m);
    expect(c.stdout).not.toContain('\x1b[');
  });

  it('watch --json: updates carry the quality map, snapshots every point quality', async () => {
    const c = (child = runCli(['--url', gw.url, '--json', 'watch', ID]));
    const objects = () => lines(c).map((l) => JSON.parse(l) as Record<string, any>);
    await until(() => objects().some((o) => o['type'] === 'resync'), 20_000, `the snapshot (stdout: ${c.stdout})`);
    expect(objects().find((o) => o['type'] === 'resync')).toMatchObject({ device_id: ID, quality: { speed: 'good', temperature: 'good', load: 'bad' } });
    await rig.speed('x');
    await until(() => objects().some((o) => o['type'] === 'update' && o['quality']?.speed === 'bad'), 15_000, `speed bad (stdout: ${c.stdout})`);
    expect(objects().find((o) => o['type'] === 'update' && o['quality']?.speed === 'bad')).toMatchObject({ device_id: ID, action: 'poll', new_state: {}, quality: { speed: 'bad' } });
  });

  it('devices and get mark the value, and --json carries the quality', async () => {
    await rig.speed('x');
    await until(() => snap().quality['speed'] === 'bad', 15_000, 'speed bad');
    const devices = runCli(['--url', gw.url, 'devices']);
    expect(await devices.exited).toBe(0);
    const row = devices.stdout.split('\n').find((l) => l.startsWith(ID))!;
    expect(row).toMatch(/online .*speed=1200 rpm \[bad\] {2}temperature=31\.5 °C {2}load=- \[bad\]$/);

    const only = runCli(['--url', gw.url, 'devices', '--quality', 'bad']);
    expect(await only.exited).toBe(0);
    expect(only.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual([ID]);
    const none = runCli(['--url', gw.url, 'devices', '--quality', 'stale']);
    expect(await none.exited).toBe(0);
    expect(none.stdout.trim().split('\n').slice(1)).toEqual([]);
    const wrong = runCli(['--url', gw.url, 'devices', '--quality', 'broken']);
    expect(await wrong.exited).toBe(65);
    expect(wrong.stderr).toMatch(/quality "broken" is not one of good, stale, bad, uncertain/);

    const get = runCli(['--url', gw.url, 'get', ID]);
    expect(await get.exited).toBe(0);
    expect(get.stdout).toMatch(/^POINT\s+VALUE\s+ACCESS\s+RANGE$/m);
    expect(get.stdout).toMatch(/^speed\s+1200 rpm \[bad\]\s+r$/m);
    expect(get.stdout).toMatch(/^temperature\s+31\.5 °C\s+r$/m);
    expect(get.stdout).toMatch(/^load\s+- \[bad\]\s+r$/m);

    const json = runCli(['--url', gw.url, '--json', 'get', ID]);
    expect(await json.exited).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: { speed: 1200 }, quality: { speed: 'bad', temperature: 'good', load: 'bad' } });
  });

  it.skipIf(!peers('tmux'))('watch on a terminal marks the stale and bad values in the live table', async () => {
    const sock = `mgw-watch-q-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const screen = () => tmux('capture-pane', '-p');
    const row = () => screen().split('\n').find((l) => l.startsWith(`${ID} `)) ?? '';
    try {
      tmux('new-session', '-d', '-x', '200', '-y', '30', `${process.execPath} ${CLI} --url ${gw.url} watch ${ID}`);
      await until(() => /online .*speed=1200 .*load=- \[bad\]/.test(row()), 15_000, `the table:\n${screen()}`);
      expect(row()).not.toMatch(/speed=1200 rpm \[/);
      await rig.speed('x');
      await until(() => /speed=1200 rpm \[bad\]/.test(row()), 15_000, `speed bad on screen:\n${screen()}`);
      await rig.answer(false);
      // Every value stale (load too, if its request was the one left unanswered): one STALE mark leads.
      await until(
        () => /offline .*(STALE {2}speed=1200 rpm {2}temperature=31\.5 °C|speed=1200 rpm \[stale\] {2}temperature=31\.5 °C \[stale\] {2}load=- \[bad\])/.test(row()),
        5000,
        `offline on screen:\n${screen()}`,
      );
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    }
  });
});
