/**
 * The bus scheduler's request cycle, driven by fake timers over an in-memory transport (a unit
 * test of one layer; the seams are covered by the peer tests under test/integration).
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import pino from 'pino';
import { BusScheduler, type Transaction } from '../../drivers/bus/scheduler.js';
import { BackoffError, BusTimeoutError, LinkDownError, TransactionCancelledError } from '../../drivers/bus/errors.js';
import { backoffDelay } from '../../drivers/bus/backoff.js';
import type { Transport } from '../../drivers/bus/transport.js';

class MemoryTransport extends EventEmitter implements Transport {
  readonly description = 'memory';
  isOpen = false;
  opens = 0;
  failOpens = 0;
  async open(): Promise<void> {
    this.opens++;
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new Error('cannot open memory: unplugged');
    }
    this.isOpen = true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  write(): void {}
  /** The line is lost under our feet. */
  lose(): void {
    this.isOpen = false;
    this.emit('close', new Error('unplugged'));
  }
}

const log = pino({ level: 'silent' });

function scheduler(transport: Transport, over: Partial<ConstructorParameters<typeof BusScheduler>[0]> = {}) {
  return new BusScheduler({
    id: 'b',
    transport,
    timeoutMs: 100,
    retries: 1,
    quietMs: 50,
    gapMs: 0,
    backoffMaxMs: 1000,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    log,
    random: () => 0.5, // no jitter: delays are exact
    ...over,
  });
}

/** A transaction the test answers by hand. */
function manual(device: string, priority: 'write' | 'poll' = 'poll') {
  const starts: number[] = [];
  const answers: ((v: string) => void)[] = [];
  const tx: Transaction<string> = {
    device,
    priority,
    backoffBaseMs: 200,
    run: () =>
      new Promise<string>((resolve) => {
        starts.push(Date.now());
        answers.push(resolve);
      }),
  };
  return { tx, starts, answers };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('BusScheduler', () => {
  test('keeps exactly one transaction in flight and runs writes before queued polls', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t);
    await s.start();
    const order: string[] = [];
    const mk = (name: string, priority: 'write' | 'poll'): Transaction<string> => ({
      device: 'd',
      priority,
      run: async () => {
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, 10));
        order.push(`end ${name}`);
        return name;
      },
    });
    const all = [s.submit(mk('p1', 'poll')), s.submit(mk('p2', 'poll')), s.submit(mk('w1', 'write')), s.submit(mk('p3', 'poll'))];
    await vi.runAllTimersAsync();
    expect(await Promise.all(all)).toEqual(['p1', 'p2', 'w1', 'p3']);
    // p1 was already in flight; the write overtook p2 and p3.
    expect(order).toEqual(['start p1', 'end p1', 'start w1', 'end w1', 'start p2', 'end p2', 'start p3', 'end p3']);
  });

  test('a timed-out attempt is retried after the quiet period, then fails with BusTimeoutError', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 2 });
    await s.start();
    const { tx, starts } = manual('dead');
    const result = s.submit(tx).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    const err = await result;
    expect(err).toBeInstanceOf(BusTimeoutError);
    expect((err as BusTimeoutError).attempts).toBe(3);
    // attempt, 100 ms timeout, 50 ms quiet, attempt, ...
    expect(starts.map((x) => x - starts[0]!)).toEqual([0, 150, 300]);
    expect(s.counters()).toMatchObject({ transactions: 3, timeouts: 3, retries: 2 });
  });

  test('nothing is sent during the quiet period after a timeout, not even for another unit', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0 });
    await s.start();
    const dead = manual('dead');
    const live = manual('live');
    const d = s.submit(dead.tx).catch(() => 'failed');
    const l = s.submit(live.tx);
    await vi.advanceTimersByTimeAsync(100); // dead times out
    expect(live.starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(49);
    expect(live.starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(live.starts).toHaveLength(1);
    live.answers[0]!('ok');
    expect(await l).toBe('ok');
    expect(await d).toBe('failed');
  });

  test('a late answer to an abandoned attempt is ignored', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0 });
    await s.start();
    const slow = manual('slow');
    const r = s.submit(slow.tx).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    slow.answers[0]!('too late');
    expect(await r).toBeInstanceOf(BusTimeoutError);
    expect(s.counters().answered).toBe(0);
  });

  test('a unit that failed rests with exponential backoff; its polls are refused without using the line', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0 });
    await s.start();
    const dead = manual('dead');
    await Promise.all([s.submit(dead.tx).catch(() => undefined), vi.advanceTimersByTimeAsync(100)]);
    expect(s.restRemaining('dead')).toBe(200); // base 200 ms, jitter centred
    await expect(s.submit(dead.tx)).rejects.toBeInstanceOf(BackoffError);
    expect(dead.starts).toHaveLength(1);
    // Other units are not affected.
    const live = manual('live');
    const l = s.submit(live.tx);
    await vi.advanceTimersByTimeAsync(50);
    live.answers[0]!('ok');
    expect(await l).toBe('ok');
    // After the rest, the next failure doubles it.
    await vi.advanceTimersByTimeAsync(200);
    const second = s.submit(dead.tx).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(100);
    await second;
    expect(s.restRemaining('dead')).toBe(400);
    // Writes are not held back by the rest (the control path decides about offline units).
    const w = manual('dead', 'write');
    const wr = s.submit(w.tx);
    await vi.advanceTimersByTimeAsync(50);
    w.answers[0]!('written');
    expect(await wr).toBe('written');
    expect(s.restRemaining('dead')).toBe(0); // an answer ends the rest
  });

  test('a cancelled transaction leaves the queue and is never sent; one on the wire runs to its end', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t);
    await s.start();
    const first = manual('a', 'write');
    const second = manual('a', 'write');
    const cancel = new AbortController();
    const r1 = s.submit({ ...first.tx, cancel: cancel.signal });
    const r2 = s.submit({ ...second.tx, cancel: cancel.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1);
    cancel.abort();
    expect(await r2).toBeInstanceOf(TransactionCancelledError);
    first.answers[0]!('done');
    expect(await r1).toBe('done');
    await vi.advanceTimersByTimeAsync(100);
    expect(second.starts).toEqual([]);
  });

  test('backoff grows by doubling, is capped, and spreads by +-25%', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(100, 1000, n, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(100, 1000, 1, () => 0)).toBe(75);
    expect(backoffDelay(100, 1000, 1, () => 1)).toBe(125);
    expect(backoffDelay(100, 1000, 10, () => 1)).toBe(1000);
  });

  test('a lost line fails the transaction in flight, reconnects with backoff, and serves again', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t);
    await s.start();
    const a = manual('a');
    const r = s.submit(a.tx).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1);
    t.failOpens = 2;
    t.lose();
    expect(await r).toBeInstanceOf(LinkDownError);
    await expect(s.submit(manual('a').tx)).rejects.toBeInstanceOf(LinkDownError);
    expect(t.opens).toBe(1);
    await vi.advanceTimersByTimeAsync(100); // first retry fails
    expect(t.opens).toBe(2);
    await vi.advanceTimersByTimeAsync(200); // second retry (doubled) fails
    expect(t.opens).toBe(3);
    await vi.advanceTimersByTimeAsync(400); // third works
    expect(t.opens).toBe(4);
    expect(s.linkUp).toBe(true);
    const b = manual('a');
    const rb = s.submit(b.tx);
    await vi.advanceTimersByTimeAsync(1);
    b.answers[0]!('back');
    expect(await rb).toBe('back');
    expect(s.counters().reconnects).toBe(1);
  });

  test('a connection on which nothing answers any more is reopened; timeouts count as progress', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0, reconnectAfterTimeouts: 3 });
    await s.start();
    const fails = ['a', 'b', 'c'].map((d) => s.submit(manual(d).tx).catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(100 + 50 + 100 + 50 + 100);
    for (const f of fails) expect(await f).toBeInstanceOf(BusTimeoutError);
    expect(s.lastProgress).toBe(Date.now());
    expect(t.opens).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.opens).toBe(2);
    expect(s.linkUp).toBe(true);
    expect(s.counters().reconnects).toBe(1);
  });

  test('an answer in between resets the count of silent timeouts', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0, reconnectAfterTimeouts: 2 });
    await s.start();
    const dead1 = s.submit(manual('dead').tx).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(150);
    await dead1;
    const live = manual('live');
    const l = s.submit(live.tx);
    await vi.advanceTimersByTimeAsync(1);
    live.answers[0]!('ok');
    await l;
    const dead2 = s.submit(manual('other').tx).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(150);
    await dead2;
    await vi.advanceTimersByTimeAsync(500);
    expect(t.opens).toBe(1);
  });

  test('progress for the watchdog: an idle scheduler is not stalled, a frozen transaction is', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { timeoutMs: 60_000 });
    await s.start();
    expect(s.progressAt()).toBe(Date.now());
    const stuck = manual('a');
    void s.submit(stuck.tx).catch(() => undefined);
    const since = Date.now();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(s.progressAt()).toBeLessThanOrEqual(since);
    stuck.answers[0]!('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(s.progressAt()).toBe(Date.now());
    await s.stop();
  });

  test('start() does not wait for a line that cannot open; it keeps trying', async () => {
    const t = new MemoryTransport();
    t.failOpens = 1;
    const s = scheduler(t);
    await s.start();
    expect(s.linkUp).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.linkUp).toBe(true);
    await s.stop();
  });
});

/** A transaction that fails the way a gateway says a unit is absent (exception 0x0B). */
function absent(device: string): Transaction<string> {
  return {
    device,
    priority: 'poll',
    backoffBaseMs: 200,
    run: () => Promise.reject(Object.assign(new Error('exception 11'), { unitAbsent: true })),
  };
}

/** A started scheduler whose units have each answered once, and the 'silent' events it emits. */
async function answeringLine(units: string[]): Promise<{ s: BusScheduler; silences: string[] }> {
  const s = scheduler(new MemoryTransport(), { retries: 1 });
  await s.start();
  const silences: string[] = [];
  s.on('silent', (reason: string) => silences.push(reason));
  for (const u of units) await answerOnce(s, u);
  return { s, silences };
}

/** Lets a unit answer once, so the scheduler knows it as answering. */
async function answerOnce(s: BusScheduler, device: string): Promise<void> {
  const m = manual(device);
  const r = s.submit(m.tx);
  await vi.advanceTimersByTimeAsync(1);
  m.answers[0]!('ok');
  await r;
}

describe('BusScheduler: absent units, rests per requester, silent lines', () => {
  test('an answer that the unit is absent fails at once, without a retry, and rests the unit', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 2 });
    await s.start();
    const err = await s.submit(absent('u5')).catch((e: unknown) => e);
    expect((err as { unitAbsent?: boolean }).unitAbsent).toBe(true);
    expect(s.counters()).toMatchObject({ transactions: 1, retries: 0, answered: 0 });
    expect(s.restRemaining('u5')).toBe(200);
    await expect(s.submit(absent('u5'))).rejects.toBeInstanceOf(BackoffError);
  });

  test('with rest: false a failure does not rest the unit and its polls are not refused', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0 });
    await s.start();
    const block = manual('u7');
    const r = s.submit({ ...block.tx, rest: false }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await r).toBeInstanceOf(BusTimeoutError);
    expect(s.restRemaining('u7')).toBe(0);
    const next = manual('u7');
    const n = s.submit({ ...next.tx, rest: false });
    await vi.advanceTimersByTimeAsync(50);
    next.answers[0]!('ok');
    expect(await n).toBe('ok');
  });

  test('bytes arriving after a timeout keep the line busy until it has been quiet for the gap', async () => {
    const t = new MemoryTransport();
    const s = scheduler(t, { retries: 0, gapMs: 5 });
    await s.start();
    const slow = manual('slow');
    const next = manual('next');
    void s.submit(slow.tx).catch(() => undefined);
    void s.submit(next.tx).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5); // the gap after connecting
    expect(slow.starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100 + 49); // timed out; 1 ms of quiet left
    t.emit('data', Buffer.from([1, 3, 2])); // the slow unit's late reply starts
    await vi.advanceTimersByTimeAsync(4);
    expect(next.starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(next.starts).toHaveLength(1);
    expect(next.starts[0]! - slow.starts[0]!).toBe(154);
  });

  test('three answering units falling silent in a row make the line silent: queued polls fail at once, one probe per rest', async () => {
    const { s, silences } = await answeringLine(['a', 'b', 'c', 'd']);
    let answering = 0;
    s.on('answering', () => answering++);

    const [a, b, c, d] = [manual('a'), manual('b'), manual('c'), manual('d')];
    const results = [a, b, c, d].map((m) => s.submit(m.tx).catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(100); // a times out; its retry waits behind b
    expect(b.starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(50); // quiet time over: b goes before a's retry
    expect(b.starts).toHaveLength(1);
    expect(a.starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(150); // b times out too: c, still answering, is the witness, ahead of both retries
    expect(c.starts).toHaveLength(1);
    expect(a.starts).toHaveLength(1);
    expect(silences).toEqual([]);
    await vi.advanceTimersByTimeAsync(100); // c times out as well: the line is silent
    expect(silences).toHaveLength(1);
    expect(s.lineSilent).toBe(true);
    const [ra, rb, rc, rd] = await Promise.all(results);
    expect(ra).toBeInstanceOf(BackoffError); // the retries, refused with the queue
    expect(rb).toBeInstanceOf(BackoffError);
    expect(rc).toBeInstanceOf(BusTimeoutError);
    expect(rd).toBeInstanceOf(BackoffError);
    expect(d.starts).toEqual([]);

    // Until the rest is over nothing goes out; then one poll probes the line, without a retry.
    await expect(s.submit(manual('c').tx)).rejects.toBeInstanceOf(BackoffError);
    await vi.advanceTimersByTimeAsync(200);
    const probe = manual('c');
    const p = s.submit(probe.tx).catch((e: unknown) => e);
    await expect(s.submit(manual('a').tx)).rejects.toBeInstanceOf(BackoffError);
    await vi.advanceTimersByTimeAsync(100);
    expect(await p).toBeInstanceOf(BusTimeoutError);
    expect(probe.starts).toHaveLength(1);
    // The next probe comes from another unit, after a doubled rest.
    await vi.advanceTimersByTimeAsync(400);
    await expect(s.submit(manual('c').tx)).rejects.toBeInstanceOf(BackoffError);
    const second = manual('a');
    const q = s.submit(second.tx);
    await vi.advanceTimersByTimeAsync(1);
    second.answers[0]!('back');
    expect(await q).toBe('back');
    expect(answering).toBe(1);
    expect(s.lineSilent).toBe(false);
    expect(s.restRemaining('b')).toBe(0);
    expect(s.counters()).toMatchObject({ line_silences: 1, line_probes: 2, line_silent: 0 });
  });

  test('one unit falling silent on a line where the others answer is that unit alone', async () => {
    const { s, silences } = await answeringLine(['a', 'b']);
    const [a, b] = [manual('a'), manual('b')];
    const ra = s.submit(a.tx).catch((e: unknown) => e);
    const rb = s.submit(b.tx);
    await vi.advanceTimersByTimeAsync(150); // a timed out; b goes first
    b.answers[0]!('ok');
    expect(await rb).toBe('ok');
    await vi.advanceTimersByTimeAsync(200); // a's retry times out
    expect(await ra).toBeInstanceOf(BusTimeoutError);
    expect(a.starts).toHaveLength(2);
    expect(silences).toEqual([]);
  });

  test('two units dying together (one power supply) are two dead units: the next unit answers, nothing else goes offline', async () => {
    const { s, silences } = await answeringLine(['a', 'b', 'c', 'd']);
    const [a, b, c, d] = [manual('a'), manual('b'), manual('c'), manual('d')];
    const ra = s.submit(a.tx).catch((e: unknown) => e);
    const rb = s.submit(b.tx).catch((e: unknown) => e);
    const rc = s.submit(c.tx);
    const rd = s.submit(d.tx);
    await vi.advanceTimersByTimeAsync(300); // a and b time out, one after the other
    expect(c.starts).toHaveLength(1); // the witness goes before either retry
    c.answers[0]!('ok');
    expect(await rc).toBe('ok');
    await vi.advanceTimersByTimeAsync(300); // then the two retries, which time out: a and b fail on their own
    expect(await ra).toBeInstanceOf(BusTimeoutError);
    expect(await rb).toBeInstanceOf(BusTimeoutError);
    expect(d.starts).toHaveLength(1);
    d.answers[0]!('ok');
    expect(await rd).toBe('ok');
    expect(silences).toEqual([]);
    expect(s.lineSilent).toBe(false);
    expect(s.counters()).toMatchObject({ line_silences: 0 });
  });

  test('a unit only a technician\'s scan reached is no witness: two polled units falling silent still make the line silent', async () => {
    const { s, silences } = await answeringLine(['a', 'b']);
    const scanned = manual('z');
    const r = s.submit({ ...scanned.tx, priority: 'background' });
    await vi.advanceTimersByTimeAsync(1);
    scanned.answers[0]!('ok');
    await r;
    const results = [manual('a'), manual('b')].map((m) => s.submit(m.tx).catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(250);
    expect(silences).toHaveLength(1);
    await Promise.all(results);
  });

  test('on a line where only two units answer, both falling silent make the line silent', async () => {
    const { s, silences } = await answeringLine(['a', 'b']);
    const [a, b] = [manual('a'), manual('b')];
    const results = [a, b].map((m) => s.submit(m.tx).catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(250);
    expect(silences).toHaveLength(1);
    const [ra, rb] = await Promise.all(results);
    expect(ra).toBeInstanceOf(BackoffError);
    expect(rb).toBeInstanceOf(BusTimeoutError);
  });
});
