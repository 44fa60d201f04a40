/** Packing a resume into batch subscribes: every message under the limit, every device once, in order. */
import { expect, it } from 'vitest';
import { batchMessage, packResume, type ResumeEntry } from '../../src/client/resume-batch.js';

const instance = '5f1c2d3e-0000-4000-8000-123456789abc';

it.each([
  ['short ids, small seqs', 500, (i: number): ResumeEntry => ({ deviceId: `m${i}`, since: i })],
  ['64-character ids, huge seqs and nulls', 300, (i: number): ResumeEntry => ({ deviceId: `${'x'.repeat(60)}${String(i).padStart(4, '0')}`, since: i % 3 === 0 ? undefined : Number.MAX_SAFE_INTEGER - i })],
])('packs %s under 1024 bytes with a 12-digit request id', (_what, n, make) => {
  const entries = Array.from({ length: n }, (_, i) => make(i));
  const groups = packResume(entries, instance, 1024);
  expect(groups.flat()).toEqual(entries);
  for (const g of groups) {
    expect(g.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(JSON.stringify(batchMessage(g, instance, 'c999999999999')))).toBeLessThanOrEqual(1024);
  }
  // Not one device per message: a batch is filled to most of the limit.
  const sizes = groups.slice(0, -1).map((g) => Buffer.byteLength(JSON.stringify(batchMessage(g, instance, 'c1'))));
  expect(Math.min(...sizes)).toBeGreaterThan(1024 * 0.75);
});

it('puts one device in each message when the limit is too small for two, and writes null for no since', () => {
  const groups = packResume([{ deviceId: 'motor_01', since: 4 }, { deviceId: 'motor_02', since: undefined }], undefined, 64);
  expect(groups).toHaveLength(2);
  expect(batchMessage(groups[1]!, undefined, 'c2')).toEqual({ action: 'subscribe', devices: { motor_02: null }, id: 'c2' });
});

it('keeps a device named __proto__ as an ordinary key', () => {
  const msg = batchMessage([{ deviceId: '__proto__', since: 3 }], instance, 'c1');
  expect(JSON.parse(JSON.stringify(msg))).toMatchObject({ devices: { ['__proto__']: 3 } });
  expect(Object.keys(msg['devices'] as object)).toEqual(['__proto__']);
});
