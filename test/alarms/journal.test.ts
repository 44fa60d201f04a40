/**
 * The alarm journal on a real file system: append-only, bounded by rotation, a torn last line
 * ended on start, read back newest first with paging and time ranges.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AlarmJournal } from '../../src/alarms/journal.js';
import type { AlarmEvent } from '../../src/protocol/alarms.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mgw-journal-'));
  dirs.push(d);
  return d;
}

function event(seq: number, time = 1_800_000_000 + seq): AlarmEvent {
  return {
    seq,
    time,
    alarm_id: `m${seq % 3}.current.hi`,
    device_id: `m${seq % 3}`,
    point: 'current',
    kind: 'hi',
    priority: 'medium',
    message: 'current high',
    transition: seq % 2 === 1 ? 'raise' : 'clear',
    from: 'normal',
    to: 'active_unack',
    active: true,
    acked: false,
    value: 12.5,
    limit: 12,
    unit: 'A',
    by: null,
    comment: null,
    shelved_until: null,
  };
}

const log = pino({ level: 'silent' });

describe('alarm journal', () => {
  test('rotates at its size and keeps only the configured files: the disk use is bounded', async () => {
    const dir = tempDir();
    const j = new AlarmJournal({ dir, maxBytes: 4096, files: 2, log });
    await j.start();
    for (let i = 1; i <= 200; i++) {
      j.append(event(i));
      if (i % 10 === 0) await j.flush();
    }
    await j.stop();
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['journal.1.jsonl', 'journal.2.jsonl', 'journal.jsonl']);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(4096);
    expect(j.rotations).toBeGreaterThan(2);
    // The newest events are all there, in order, across the files.
    const again = new AlarmJournal({ dir, maxBytes: 4096, files: 2, log });
    await again.start();
    const { events } = await again.read({ limit: 20 });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 200 - i));
    await again.stop();
  });

  test('pages backwards with before, filters by alarm, device and time range', async () => {
    const dir = tempDir();
    const j = new AlarmJournal({ dir, maxBytes: 1_000_000, files: 1, log });
    await j.start();
    for (let i = 1; i <= 30; i++) j.append(event(i));
    const page1 = await j.read({ limit: 10 });
    expect(page1.more).toBe(true);
    const page2 = await j.read({ limit: 10, before: page1.events.at(-1)!.seq });
    expect(page2.events[0]!.seq).toBe(20);
    expect((await j.read({ limit: 100, device: 'm1' })).events.every((e) => e.device_id === 'm1')).toBe(true);
    const range = await j.read({ limit: 100, from: 1_800_000_005, to: 1_800_000_009 });
    expect(range.events.map((e) => e.seq)).toEqual([9, 8, 7, 6, 5]);
    await j.stop();
  });

  test('a line torn by a power cut is ended on start; later events stay readable', async () => {
    const dir = tempDir();
    const j = new AlarmJournal({ dir, maxBytes: 1_000_000, files: 1, log });
    await j.start();
    j.append(event(1));
    await j.stop();
    appendFileSync(join(dir, 'journal.jsonl'), '{"seq":2,"time":18000');
    const again = new AlarmJournal({ dir, maxBytes: 1_000_000, files: 1, log });
    await again.start();
    again.append(event(3));
    const { events } = await again.read({ limit: 10 });
    expect(events.map((e) => e.seq)).toEqual([3, 1]);
    await again.stop();
    expect(readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n').length).toBe(4);
  });
});
