/**
 * A crash between the journal write and the state file write (kill -9, an OOM kill: the state
 * file follows within milliseconds, coalesced) must not lose the transitions in between: the
 * next start brings the saved state up to date from the journal. The crash is reproduced
 * exactly: the real service writes both files, then the state file is put back to what it held
 * before the last transitions, as the killed process would have left it.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from '../../src/core/registry.js';
import { validateConfig } from '../../src/config/load.js';
import { AlarmService, type AlarmAuditSink } from '../../src/alarms/service.js';
import { replayJournal } from '../../src/alarms/replay.js';
import { MOTOR_POINTS } from '../../drivers/simulator/models.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sink: AlarmAuditSink = { problem: undefined, append: () => Promise.resolve() };

async function service(dir: string) {
  const config = validateConfig({ state_dir: dir, devices: [{ id: 'm1', driver: 'simulator', model: 'motor', alarms: { points: { speed: { hi: 2500, hihi: 2900 } } } }] });
  const registry = new Registry({ replaySize: 10 });
  registry.add({ id: 'm1', name: 'm1', device_type: 'motor', driver: 'sim', points: MOTOR_POINTS });
  const alarms = new AlarmService({ config, registry, log: pino({ level: 'silent' }), audit: sink });
  await alarms.start();
  registry.onDiff((d) => alarms.onDiff(d));
  return { alarms, registry };
}

async function settled(alarms: AlarmService): Promise<void> {
  await alarms.journal.flush();
  await alarms.stateFile.flush();
}

describe('alarm state after a crash', () => {
  test('transitions the state file had not caught up with are taken from the journal at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-alarm-replay-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'alarms', 'state.json');

    const first = await service(dir);
    first.registry.apply('m1', { speed: 3000 }, 'poll');
    await settled(first.alarms);
    const beforeTheCrash = readFileSync(stateFile, 'utf8');
    expect(first.alarms.table.view('m1.speed.hi')!.state).toBe('active_unack');

    // Then: hi shelved by an operator, and the speed back down, so hihi returns unacknowledged.
    await first.alarms.act('shelve', 'm1.speed.hi', { token: 'anna', remote: '10.0.0.5' }, { forS: 3600, comment: 'belt being changed' });
    first.registry.apply('m1', { speed: 2000 }, 'poll');
    await settled(first.alarms);
    const expected = { hi: first.alarms.table.view('m1.speed.hi')!, hihi: first.alarms.table.view('m1.speed.hihi')!, seq: first.alarms.table.seq };
    expect(expected.hi.state).toBe('shelved');
    expect(expected.hihi.state).toBe('rtn_unack');
    await first.alarms.stop();
    // The crash: the journal has those transitions, the state file does not.
    writeFileSync(stateFile, beforeTheCrash);

    const second = await service(dir);
    cleanups.push(() => second.alarms.stop());
    expect(second.alarms.table.seq).toBe(expected.seq);
    expect(second.alarms.table.view('m1.speed.hihi')).toMatchObject({ state: 'rtn_unack', active: false, acked: false, value: expected.hihi.value, last_change: expected.hihi.last_change });
    expect(second.alarms.table.view('m1.speed.hi')).toMatchObject({ state: 'shelved', shelved_by: 'anna', shelved_until: expected.hi.shelved_until, comment: 'belt being changed' });
    // And the state file is rewritten with it.
    await second.alarms.stateFile.flush();
    expect((JSON.parse(readFileSync(stateFile, 'utf8')) as { seq: number }).seq).toBe(expected.seq);
  });

  test('the fold: raise, ack, clear and removal, in seq order, from a saved state or none', () => {
    const ev = (seq: number, alarm_id: string, transition: string, to: string, active: boolean, acked: boolean, extra: Record<string, unknown> = {}) =>
      ({ seq, time: 100 + seq, alarm_id, device_id: 'm1', point: 'speed', kind: 'hi', priority: 'medium', message: '', transition, from: 'normal', to, active, acked, value: seq, limit: 1, unit: null, by: null, comment: null, shelved_until: null, ...extra }) as never;
    const events = [
      ev(3, 'a', 'ack', 'active_ack', true, true, { by: { token: 'bo', remote: null }, comment: 'ok' }),
      ev(2, 'a', 'raise', 'active_unack', true, false),
      ev(4, 'b', 'raise', 'active_unack', true, false),
      ev(5, 'b', 'removed', 'normal', true, false),
      ev(1, 'a', 'raise', 'active_unack', true, false),
    ];
    const saved = { seq: 1, alarms: [] };
    const out = replayJournal(saved, events)!;
    expect(out.seq).toBe(5);
    expect(out.alarms).toEqual([{ id: 'a', active: true, acked: true, shelved: false, out_of_service: false, value: 3, active_since: 102, last_change: 103, shelved_until: null, shelved_by: null, comment: 'ok' }]);
    // Nothing newer than the saved state: the saved state itself.
    expect(replayJournal(out, events)).toBe(out);
  });
});
