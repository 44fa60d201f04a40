/**
 * Operator actions through the alarm service and the audit trail's contract (a stand-in sink:
 * the real trail is exercised in test/server/alarms-api.test.ts): an action is confirmed only
 * once its record is durable, and refused while the trail cannot be written.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from '../../src/core/registry.js';
import { validateConfig } from '../../src/config/load.js';
import { AlarmService, type AlarmAuditSink } from '../../src/alarms/service.js';
import type { AlarmAuditRecord } from '../../src/platform/audit.js';
import { MOTOR_POINTS } from '../../drivers/simulator/models.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class Sink implements AlarmAuditSink {
  problem: string | undefined;
  records: AlarmAuditRecord[] = [];
  release: (() => void)[] = [];
  append(rec: AlarmAuditRecord): Promise<void> {
    this.records.push(rec);
    return new Promise((resolve) => this.release.push(resolve));
  }
}

async function service(sink: Sink) {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-alarm-svc-'));
  const config = validateConfig({ state_dir: dir, devices: [{ id: 'm1', driver: 'simulator', model: 'motor', alarms: { points: { speed: { hi: 2500 } } } }] });
  const registry = new Registry({ replaySize: 10 });
  registry.add({ id: 'm1', name: 'm1', device_type: 'motor', driver: 'sim', points: MOTOR_POINTS });
  const alarms = new AlarmService({ config, registry, log: pino({ level: 'silent' }), audit: sink });
  await alarms.start();
  registry.onDiff((d) => alarms.onDiff(d));
  cleanups.push(async () => {
    await alarms.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  registry.apply('m1', { speed: 3000 }, 'poll');
  return alarms;
}

describe('alarm actions and the audit trail', () => {
  test('an ack is confirmed once its record is durable', async () => {
    const sink = new Sink();
    const alarms = await service(sink);
    let confirmed = false;
    const ack = alarms.act('ack', 'm1.speed.hi', { token: 'anna', remote: '10.0.0.5' }).then(() => (confirmed = true));
    await new Promise((r) => setImmediate(r));
    expect(sink.records[0]).toMatchObject({ token: 'anna', device: 'm1', previous: { alarm: 'm1.speed.hi', state: 'active_unack' }, requested: { alarm_action: 'ack' }, outcome: 'ok' });
    expect(confirmed).toBe(false);
    sink.release[0]!();
    await ack;
    expect(confirmed).toBe(true);
  });

  test('while the trail cannot be written, actions are refused with audit_unavailable and change nothing', async () => {
    const sink = new Sink();
    const alarms = await service(sink);
    sink.problem = 'cannot write audit.jsonl: ENOSPC (the disk is full)';
    await expect(alarms.act('ack', 'm1.speed.hi', { token: 'anna' })).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(alarms.table.view('m1.speed.hi')!.state).toBe('active_unack');
    expect(sink.records).toEqual([]);
  });
});
