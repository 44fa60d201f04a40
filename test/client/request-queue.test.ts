/**
 * The request pacing alone, on fake timers: a burst, then the sustained rate; after a refusal
 * half the pace and every unanswered request again.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { RequestQueue, type Request } from '../../src/client/request-queue.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const req = (n: number): Request => ({ action: 'subscribe', device_id: `d${n}`, id: `r${n}` });

it('sends a burst at once and the rest at the sustained rate', () => {
  const sent: string[] = [];
  const q = new RequestQueue({ send: (m) => sent.push(m.id), burst: 3, perSecond: 2, now: () => Date.now() });
  for (let i = 1; i <= 7; i++) q.push(req(i));
  expect(sent).toEqual(['r1', 'r2', 'r3']);
  vi.advanceTimersByTime(500);
  expect(sent).toHaveLength(4);
  vi.advanceTimersByTime(1500);
  expect(sent).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
  for (const id of sent) q.answered(id);
  expect(q.outstanding).toBe(0);
  q.clear();
});

it('after a refusal, pauses, halves the pace and sends every unanswered request again, first', () => {
  const sent: string[] = [];
  const q = new RequestQueue({ send: (m) => sent.push(m.id), burst: 4, perSecond: 4, pauseMs: 1000, now: () => Date.now() });
  for (let i = 1; i <= 6; i++) q.push(req(i));
  q.answered('r1');
  q.answered('r2');
  q.refused(); // r3 and r4 may have been dropped
  sent.length = 0;
  vi.advanceTimersByTime(999);
  expect(sent).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(sent).toEqual(['r3', 'r4']); // 2 per second now, and a burst of 2
  vi.advanceTimersByTime(1000);
  expect(sent).toEqual(['r3', 'r4', 'r5', 'r6']);
  q.clear();
});

it('sends again what stays unanswered, even without a refusal to say so', () => {
  const sent: string[] = [];
  const q = new RequestQueue({ send: (m) => sent.push(m.id), burst: 5, perSecond: 5, pauseMs: 100, answerTimeoutMs: 2000, now: () => Date.now() });
  q.push(req(1));
  q.push(req(2));
  q.answered('r2');
  vi.advanceTimersByTime(5000);
  expect(sent.filter((id) => id === 'r1').length).toBeGreaterThanOrEqual(2);
  expect(sent.filter((id) => id === 'r2')).toHaveLength(1);
  q.clear();
});
