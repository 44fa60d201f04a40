/**
 * Alarms across restarts of a real `mgw serve` process (the built CLI, its own config file and
 * state_dir), against a Modbus TCP peer whose registers the test sets and which keeps running
 * between the gateway's lives: an unacknowledged alarm is still active and unacknowledged through
 * the REST API after `kill -TERM` and a start, and after `kill -9` once its state was written
 * (the README's promise: the state file is replaced after each burst of transitions).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peers } from '../helpers/peers.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';
import { runCli, stopChild, type Child } from '../client/processes.js';
import { until } from '../cli/helpers.js';
import type { AlarmEventsReply, AlarmView } from '../../src/protocol/alarms.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function writeConfig(dir: string, port: number): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      'server: {port: 0}',
      `state_dir: ${dir}`,
      'buses:',
      `  - {id: plc, kind: tcp, host: 127.0.0.1, port: ${port}, timeout_ms: 500, retries: 0}`,
      'devices:',
      '  - id: oven',
      '    driver: modbus',
      '    bus: plc',
      '    unit: 1',
      '    poll_interval_ms: 100',
      '    points:',
      "      temperature: {table: holding, address: 0, type: int16, scale: 0.1, unit: '°C'}",
      '    alarms:',
      '      points:',
      '        temperature: {hi: 50, hihi: {limit: 90, priority: critical}}',
      '',
    ].join('\n'),
  );
  return file;
}

interface Serving {
  child: Child;
  url: string;
}

/** Starts `mgw serve` and waits for it to say it is ready, with its port. */
async function serve(config: string): Promise<Serving> {
  const child = runCli(['serve', '--config', config]);
  cleanups.push(() => stopChild(child));
  await until(() => child.stdout.includes('"msg":"gateway ready"') || child.proc.exitCode !== null, 'gateway ready', 30_000);
  const line = child.stdout.split('\n').find((l) => l.includes('"msg":"gateway ready"'));
  if (line === undefined) throw new Error(`mgw serve did not start: ${child.stderr}${child.stdout.slice(-2000)}`);
  return { child, url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}

async function alarm(s: Serving, id: string): Promise<AlarmView> {
  const res = await fetch(`${s.url}/api/v1/alarms/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AlarmView;
}

async function raises(s: Serving, id: string): Promise<number> {
  const r = (await (await fetch(`${s.url}/api/v1/alarms/events?alarm=${id}&from=0`)).json()) as AlarmEventsReply;
  return r.events.filter((e) => e.transition === 'raise').length;
}

async function temperature(s: Serving): Promise<unknown> {
  const d = (await (await fetch(`${s.url}/api/v1/devices/oven`)).json()) as { state: Record<string, unknown>; online: boolean };
  return d.online ? d.state['temperature'] : undefined;
}

describe.skipIf(!peers('/usr/bin/python3'))('alarms across restarts of the gateway process', () => {
  test('an unacknowledged alarm is still active and unacknowledged after kill -TERM and after kill -9', async () => {
    const slave: PyModbusPeer = await startPyModbus('tcp', 0);
    cleanups.push(() => slave.stop());
    const dir = mkdtempSync(join(tmpdir(), 'mgw-alarm-restart-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = writeConfig(dir, slave.port);
    await slave.set(1, 'hr', 0, [650]); // 65 °C: above hi (50)

    let gw = await serve(config);
    let hi: AlarmView | undefined;
    await waitFor('the hi alarm raised', async () => (hi = await alarm(gw, 'oven.temperature.hi')).state === 'active_unack', 20_000);
    expect(hi).toMatchObject({ active: true, acked: false, value: 65 });

    // kill -TERM: a clean stop.
    gw.child.proc.kill('SIGTERM');
    expect(await gw.child.exited).toBe(0);
    gw = await serve(config);
    // Restored at start, and still so once the peer has been read again.
    expect(await alarm(gw, 'oven.temperature.hi')).toMatchObject({ state: 'active_unack', acked: false, active_since: hi!.active_since });
    await waitFor('the oven polled again', async () => (await temperature(gw)) === 65, 20_000);
    expect(await alarm(gw, 'oven.temperature.hi')).toMatchObject({ state: 'active_unack', active_since: hi!.active_since });
    expect(await raises(gw, 'oven.temperature.hi')).toBe(1);

    // A second alarm, then kill -9 once the state file holds it.
    await slave.set(1, 'hr', 0, [950]); // 95 °C: hihi too
    await waitFor('the hihi alarm raised', async () => (await alarm(gw, 'oven.temperature.hihi')).state === 'active_unack', 20_000);
    const stateFile = join(dir, 'alarms', 'state.json');
    await until(() => existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('"oven.temperature.hihi"'), 'the state file written', 20_000);
    const hihi = await alarm(gw, 'oven.temperature.hihi');
    gw.child.proc.kill('SIGKILL');
    await gw.child.exited;
    gw = await serve(config);
    expect(await alarm(gw, 'oven.temperature.hihi')).toMatchObject({ state: 'active_unack', acked: false, active_since: hihi.active_since });
    expect(await alarm(gw, 'oven.temperature.hi')).toMatchObject({ state: 'active_unack', acked: false, active_since: hi!.active_since });
    await waitFor('the oven polled again', async () => (await temperature(gw)) === 95, 20_000);
    expect((await alarm(gw, 'oven.temperature.hihi')).state).toBe('active_unack');
    expect(await raises(gw, 'oven.temperature.hihi')).toBe(1);
    gw.child.proc.kill('SIGTERM');
    expect(await gw.child.exited).toBe(0);
  }, 120_000);
});
