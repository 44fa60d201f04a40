/**
 * Alarm evaluation cost, in process: CPU time per registry diff for the registry alone and for
 * the registry with the alarm system behind it (evaluator, table, journal and state file on a
 * temporary state_dir, flushed inside the measured window), on 100 simulated motors with hi and
 * hihi limits on two points. Two loads: values that move without crossing (the usual case), and
 * values that cross and return on every diff (a flood of raise and clear, each journalled).
 * Runs alternate A B A B; the runner takes medians.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from '../../src/core/registry.js';
import { validateConfig } from '../../src/config/load.js';
import { AlarmService } from '../../src/alarms/service.js';
import { MOTOR_POINTS } from '../../drivers/simulator/models.js';

export interface AlarmBenchResult {
  quietRegistryUs: number;
  quietAlarmsUs: number;
  floodRegistryUs: number;
  floodAlarmsUs: number;
  transitionsPerDiff: number;
}

const DEVICES = 100;

async function once(withAlarms: boolean, crossing: boolean, diffs: number): Promise<{ us: number; transitions: number }> {
  const ids = Array.from({ length: DEVICES }, (_, i) => `m${i}`);
  const config = validateConfig({
    devices: ids.map((id) => ({ id, driver: 'simulator', model: 'motor', alarms: { offline: false, points: { current: { hi: 9, hihi: 11, deadband: 0.2 }, temperature: { hi: 60, hihi: 75, deadband: 1 } } } })),
  });
  const dir = mkdtempSync(join(tmpdir(), 'mgw-bench-alarms-'));
  config.state_dir = dir;
  const registry = new Registry({ replaySize: 16 });
  for (const id of ids) registry.add({ id, name: id, device_type: 'motor', driver: 'sim', points: MOTOR_POINTS });
  const alarms = withAlarms ? new AlarmService({ config, registry, log: pino({ level: 'silent' }) }) : undefined;
  if (alarms) {
    await alarms.start();
    registry.onDiff((d) => alarms.onDiff(d));
  }
  for (const id of ids) registry.apply(id, { current: 4, temperature: 30 }, 'poll');
  const start = process.cpuUsage();
  for (let i = 0; i < diffs; i++) {
    const id = ids[i % DEVICES]!;
    const k = Math.floor(i / DEVICES);
    const current = crossing ? (k % 2 === 0 ? 9.5 : 4) : 4 + (k % 10) * 0.1;
    registry.apply(id, { current, temperature: 30 + (k % 7) * 0.1 }, 'poll');
    // Let the journal and the state file write as they would between polls.
    if (i % DEVICES === DEVICES - 1) await new Promise((r) => setImmediate(r));
  }
  if (alarms) {
    await alarms.journal.flush();
    await alarms.stateFile.flush();
  }
  const used = process.cpuUsage(start);
  const transitions = alarms?.stats.transitionsTotal ?? 0;
  await alarms?.stop();
  rmSync(dir, { recursive: true, force: true });
  return { us: (used.user + used.system) / diffs, transitions: transitions / diffs };
}

export async function alarmsOnce(opts: { diffs: number }): Promise<AlarmBenchResult> {
  const quietRegistry = await once(false, false, opts.diffs);
  const quietAlarms = await once(true, false, opts.diffs);
  const floodRegistry = await once(false, true, opts.diffs);
  const flood = await once(true, true, opts.diffs);
  return {
    quietRegistryUs: quietRegistry.us,
    quietAlarmsUs: quietAlarms.us,
    floodRegistryUs: floodRegistry.us,
    floodAlarmsUs: flood.us,
    transitionsPerDiff: flood.transitions,
  };
}

// `npx tsx test/bench/alarms.ts` runs it alone.
if (process.argv[1]?.endsWith('alarms.ts')) {
  const runs: AlarmBenchResult[] = [];
  for (let i = 0; i < 5; i++) runs.push(await alarmsOnce({ diffs: 20_000 }));
  const med = (f: (r: AlarmBenchResult) => number) => runs.map(f).sort((a, b) => a - b)[2]!;
  process.stdout.write(
    `${JSON.stringify({
      quiet_registry_us: med((r) => r.quietRegistryUs),
      quiet_alarms_us: med((r) => r.quietAlarmsUs),
      flood_registry_us: med((r) => r.floodRegistryUs),
      flood_alarms_us: med((r) => r.floodAlarmsUs),
      transitions_per_diff: med((r) => r.transitionsPerDiff),
      runs,
    }, null, 1)}\n`,
  );
}
