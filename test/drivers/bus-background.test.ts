/**
 * Background priority in the bus scheduler (commissioning through the running gateway), driven
 * by fake timers over an in-memory transport: it goes after every queued write and poll, takes
 * at most BACKGROUND_SHARE of the line, and its timeouts rest no unit, silence no line and
 * reopen no connection. Also: a requester's own errors retried on request (retryOn).
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import pino from 'pino';
import { BACKGROUND_SHARE, BusScheduler, type Transaction } from '../../drivers/bus/scheduler.js';
import { BusTimeoutError } from '../../drivers/bus/errors.js';
import type { Transport } from '../../drivers/bus/transport.js';

class MemoryTransport extends EventEmitter implements Transport {
  readonly description = 'memory';
  isOpen = false;
  opens = 0;
  async open(): Promise<void> {
    this.opens++;
    this.isOpen = true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  write(): void {}
}

function scheduler(over: Partial<ConstructorParameters<typeof BusScheduler>[0]> = {}) {
  const transport = new MemoryTransport();
  const s = new BusScheduler({
    id: 'b',
    transport,
    timeoutMs: 100,
    retries: 0,
    quietMs: 0,
    gapMs: 0,
    backoffMaxMs: 1000,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    log: pino({ level: 'silent' }),
    random: () => 0.5,
    ...over,
  });
  return { s, transport };
}

/** A transaction that takes `ms` to answer (or never answers when ms is undefined). */
function tx(device: string, priority: 'write' | 'poll' | 'background', ms: number | undefined, log: string[], name = device): Transaction<string> {
  return {
    device,
    priority,
    run: () =>
      new Promise<string>((resolve) => {
        log.push(`${name}@${Date.now() - 1_000_000}`);
        if (ms !== undefined) setTimeout(() => resolve(name), ms);
      }),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

test('background work waits while writes or polls are queued, and goes first on an idle line', async () => {
  const { s } = scheduler();
  await s.start();
  const log: string[] = [];
  const all = [s.submit(tx('p1', 'poll', 10, log)), s.submit(tx('bg', 'background', 10, log)), s.submit(tx('p2', 'poll', 10, log)), s.submit(tx('w', 'write', 10, log))];
  await vi.runAllTimersAsync();
  await Promise.all(all);
  expect(log.map((l) => l.split('@')[0])).toEqual(['p1', 'w', 'p2', 'bg']);
});

test(`background work takes at most ${BACKGROUND_SHARE * 100} % of the line: after holding it t ms the next waits ${(1 - BACKGROUND_SHARE) / BACKGROUND_SHARE} t`, async () => {
  const { s } = scheduler();
  await s.start();
  const log: string[] = [];
  // Three probes of 100 ms that time out, queued at once, as a scan's would be.
  const probes = [1, 2, 3].map((u) => s.submit(tx(`unit ${u}`, 'background', undefined, log)).catch((e: unknown) => e));
  // The three, and the wait the third one bought.
  await vi.advanceTimersByTimeAsync(3 * (100 + (100 * (1 - BACKGROUND_SHARE)) / BACKGROUND_SHARE));
  for (const p of probes) expect(await p).toBeInstanceOf(BusTimeoutError);
  const starts = log.map((l) => Number(l.split('@')[1]));
  const wait = (100 * (1 - BACKGROUND_SHARE)) / BACKGROUND_SHARE;
  expect(starts).toEqual([0, 100 + wait, 2 * (100 + wait)]);
  // A poll submitted while background work waits for its share does not wait with it.
  const polled: string[] = [];
  const bg = s.submit(tx('unit 4', 'background', undefined, log)).catch(() => undefined);
  await vi.advanceTimersByTimeAsync(110); // unit 4 times out; background now waits for its share
  const p = s.submit(tx('pump', 'poll', 5, polled));
  await vi.advanceTimersByTimeAsync(5);
  expect(await p).toBe('pump');
  expect(polled).toHaveLength(1);
  await bg;
});

test('background timeouts rest no unit, never make the line silent and never reopen the connection', async () => {
  const { s, transport } = scheduler({ reconnectAfterTimeouts: 2, retries: 0 });
  await s.start();
  const log: string[] = [];
  // Two polled units answer, so their silence would count.
  await Promise.all([s.submit(tx('a', 'poll', 1, log)), s.submit(tx('b', 'poll', 1, log))].map(async (p) => (await vi.advanceTimersByTimeAsync(5), p)));
  for (let u = 10; u < 20; u++) {
    const probe = s.submit({ ...tx(`commissioning unit ${u}`, 'background', undefined, log), rest: true }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await probe).toBeInstanceOf(BusTimeoutError);
    expect(s.restRemaining(`commissioning unit ${u}`)).toBe(0);
  }
  expect(s.lineSilent).toBe(false);
  expect(transport.opens).toBe(1);
  expect(s.counters()).toMatchObject({ timeouts: 10, line_silences: 0, reconnects: 0 });
  // The polled units are not affected either.
  const after = s.submit(tx('a', 'poll', 1, log));
  await vi.advanceTimersByTimeAsync(5);
  expect(await after).toBe('a');
});

test('retryOn: an error the requester names is tried again, with the retries a timeout gets', async () => {
  const { s } = scheduler({ retries: 2 });
  await s.start();
  let calls = 0;
  const garbled = new Error('bad CRC');
  const result = s.submit({
    device: 'd',
    priority: 'write',
    retryOn: (e) => e === garbled,
    run: async () => {
      calls++;
      if (calls < 3) throw garbled;
      return 'ok';
    },
  });
  await vi.runAllTimersAsync();
  expect(await result).toBe('ok');
  expect(calls).toBe(3);
  // Without retryOn the same error fails at once.
  let once = 0;
  const plain = s.submit({ device: 'd', priority: 'write', run: async () => (once++, Promise.reject(garbled)) }).catch((e: unknown) => e);
  await vi.runAllTimersAsync();
  expect(await plain).toBe(garbled);
  expect(once).toBe(1);
});
