/**
 * `mgw simulate line` as a technician runs it: a separate process making its own PTY pair with
 * socat, and a gateway on the example config pointed at it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TestClient, postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { loadConfigFile } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { waitFor } from './line-pty.js';

const haveSocat = peers('socat');
const dir = mkdtempSync(join(tmpdir(), 'mgw-sim-'));
const running: { proc: ChildProcess; exit: Promise<number | null> }[] = [];

afterAll(async () => {
  for (const r of running) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGTERM');
  await Promise.all(running.map((r) => r.exit));
  rmSync(dir, { recursive: true, force: true });
});

async function simulate(args: string[]): Promise<{ proc: ChildProcess; exit: Promise<number | null>; out: string[] }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'simulate', 'line', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  running.push({ proc, exit });
  const out: string[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (l) => out.push(l));
  await waitFor(`the simulator to be ready (stderr: ${err})`, () => out.some((l) => l.includes('ready')) || (proc.exitCode !== null ? undefined : false), 20_000);
  return { proc, exit, out };
}

function example(file: string, path: string): GatewayConfigInput['devices'] {
  const cfg = loadConfigFile(file);
  return cfg.devices.map((d) => ({ ...d, poll_interval_ms: 100, port: { ...(d as { port: object }).port, path } })) as GatewayConfigInput['devices'];
}

describe.skipIf(!haveSocat)('mgw simulate line', () => {
  let gw: RunningGateway | undefined;
  afterAll(async () => gw?.stop());

  it('runs a simulated motor that the gateway drives through config/examples/line-motor.yaml', async () => {
    const link = join(dir, 'motor');
    const sim = await simulate(['--model', 'motor', '--link', link, '--interval', '50']);
    expect(sim.out[0]).toContain(`port.path: ${link}`);
    gw = await startGateway({ devices: example('config/examples/line-motor.yaml', link) });
    const ws = await TestClient.connect(gw.wsUrl);
    try {
      await ws.next((m) => m['device_id'] === 'press_motor' && m['data']?.new_state?.speed === 1200, 10_000);
      const res = await postJson(`${gw.url}/api/v1/devices/press_motor`, { speed: 1800 });
      expect(res.status).toBe(200);
      expect(res.json.new_state).toEqual({ speed: 1800 });
      // The simulated drive ramps towards the new setpoint; the gateway sees it on STATUS?.
      await ws.next((m) => m['device_id'] === 'press_motor' && m['data']?.new_state?.actual_speed > 1500, 10_000);
      const refused = await postJson(`${gw.url}/api/v1/devices/press_motor`, { running: 'yes' });
      expect(refused.json.error_code).toBe('validation_error');

      // Stopping the simulator removes the PTY: the device goes offline, the gateway stays up.
      sim.proc.kill('SIGTERM');
      expect(await sim.exit).toBe(0);
      expect(existsSync(link)).toBe(false);
      await ws.next((m) => m['device_id'] === 'press_motor' && m['data']?.new_state?.online === false, 10_000);
    } finally {
      ws.close();
    }
  });

  it('runs a streaming sensor for config/examples/line-sensor.yaml', async () => {
    await gw?.stop();
    const link = join(dir, 'sensor');
    await simulate(['--model', 'sensor', '--link', link, '--interval', '50']);
    gw = await startGateway({ devices: example('config/examples/line-sensor.yaml', link) });
    const ws = await TestClient.connect(gw.wsUrl);
    try {
      const u = await ws.next((m) => m['device_id'] === 'hall_climate' && typeof m['data']?.new_state?.humidity === 'number', 10_000);
      expect(u['data'].action).toBe('stream');
      expect(u['data'].new_state.temperature).toBeGreaterThan(-40);
    } finally {
      ws.close();
    }
  });

  it('refuses to run without --link or --attach, with the reason', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'simulate', 'line'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(64);
    expect(err).toContain('give either --link PATH');
  });
});
