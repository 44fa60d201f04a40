import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineFramer, type DiscardKind } from '../../drivers/line/framer.js';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import * as v from 'valibot';
import { LineLink } from '../../drivers/line/link.js';
import { LinePortSchema } from '../../drivers/line/config.js';
import type { Transport } from '../../drivers/bus/transport.js';
import { LogThrottle } from '../../drivers/line/throttle.js';
import { SimulatedLineDevice } from '../../drivers/line/simulated.js';

function framer(delimiter = '\n', maxLength = 16) {
  const lines: string[] = [];
  const discarded: [DiscardKind, string][] = [];
  const f = new LineFramer({ delimiter, encoding: 'latin1', maxLength, onDiscard: (k, h) => discarded.push([k, h]) });
  f.on('data', (l: string) => lines.push(l));
  const feed = (...chunks: string[]) => {
    for (const c of chunks) f.write(Buffer.from(c, 'latin1'));
  };
  return { f, lines, discarded, feed };
}

describe('LineFramer', () => {
  it('joins pieces into lines, whatever the cut', async () => {
    const { lines, feed } = framer('\r\n');
    feed('T=2', '3.4;H', '=45.1\r', '\nA=1\r\nB', '=2\r\n');
    await new Promise(setImmediate);
    expect(lines).toEqual(['T=23.4;H=45.1', 'A=1', 'B=2']);
  });

  it('discards an over-long line and its tail, then takes the next line', async () => {
    const { lines, discarded, feed } = framer('\n', 8);
    feed('0123456789', 'abcdef', 'ok\nA=1\n', '123456789\nB=2\n');
    await new Promise(setImmediate);
    expect(lines).toEqual(['A=1', 'B=2']);
    expect(discarded.map(([k]) => k)).toEqual(['overlong', 'overlong']);
  });

  it('keeps a split "\\r\\n" intact at the length limit', async () => {
    const { lines, discarded, feed } = framer('\r\n', 4);
    feed('ABCD\r', '\nEF\r\n');
    await new Promise(setImmediate);
    expect(lines).toEqual(['ABCD', 'EF']);
    expect(discarded).toEqual([]);
  });

  it('does not emit a last line that never got its delimiter', async () => {
    const { f, lines, discarded, feed } = framer();
    feed('A=1\nA=2');
    f.end();
    await new Promise((r) => f.on('end', r).resume());
    expect(lines).toEqual(['A=1']);
    expect(discarded).toEqual([['incomplete', 'A=2']]);
  });

  it('forgets a partial line on reset', async () => {
    const { f, lines, feed } = framer();
    feed('SPEED=12');
    f.reset();
    feed('SPEED=13\n');
    await new Promise(setImmediate);
    expect(lines).toEqual(['SPEED=13']);
  });
});

class FakeLine extends EventEmitter implements Transport {
  readonly description = 'fake line';
  isOpen = false;
  /** Opens that fail before one works. */
  failOpens = 0;
  readonly sent: string[] = [];
  async open(): Promise<void> {
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new Error('no such device');
    }
    this.isOpen = true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  write(data: Buffer): void {
    this.sent.push(data.toString('latin1').replace(/\n$/, ''));
  }
  receive(line: string): void {
    this.emit('data', Buffer.from(`${line}\n`, 'latin1'));
  }
  lose(): void {
    this.isOpen = false;
    this.emit('close', new Error('unplugged'));
  }
}

describe('LineLink', () => {
  afterEach(() => vi.useRealTimers());

  async function setup(port: { timeout_ms?: number; quiet_ms?: number; reconnect_max_ms?: number } = {}, random?: () => number) {
    const line = new FakeLine();
    const streams: string[] = [];
    const timeouts: string[] = [];
    const late: string[] = [];
    const events: string[] = [];
    const link = new LineLink({
      settings: v.parse(LinePortSchema, { path: '/dev/fake', timeout_ms: 100, quiet_ms: 0, ...port }),
      log: pino({ level: 'silent' }),
      onLine: (l) => streams.push(l),
      onDiscard: () => undefined,
      onUp: () => events.push('up'),
      onDown: (reason) => events.push(`down: ${reason}`),
      onTimeout: (r) => timeouts.push(r.line),
      onLate: (l) => late.push(l),
      transport: line,
      ...(random === undefined ? {} : { random }),
    });
    await link.start();
    return { link, line, streams, timeouts, late, events };
  }
  const isSpeed = (l: string) => (l.startsWith('SPEED=') ? ('answer' as const) : l.startsWith('ERR') ? ('error' as const) : ('other' as const));

  it('keeps one request outstanding, hands other lines to the streams meanwhile, and sends the next after the answer', async () => {
    const { link, line, streams } = await setup();
    const a = link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm2' });
    await vi.waitFor(() => expect(line.sent).toEqual(['SPEED?']));
    line.receive('T=1'); // not the answer: left for the streams
    await vi.waitFor(() => expect(streams).toEqual(['T=1']));
    expect(line.sent).toEqual(['SPEED?']);
    line.receive('SPEED=5');
    await expect(a).resolves.toBe('SPEED=5');
    await vi.waitFor(() => expect(line.sent).toEqual(['SPEED?', 'SPEED?']));
    line.receive('SPEED=6');
    await expect(b).resolves.toBe('SPEED=6');
    expect(streams).toEqual(['T=1']);
    await link.stop();
  });

  it('puts writes before queued polls', async () => {
    const { link, line } = await setup({ timeout_ms: 60_000 });
    const ignore = () => undefined;
    link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' }).catch(ignore);
    link.request({ line: 'STATUS?', classify: isSpeed, priority: 'poll', deviceId: 'm1' }).catch(ignore);
    link.request({ line: 'SPEED=7', classify: isSpeed, priority: 'write', deviceId: 'm1' }).catch(ignore);
    await vi.waitFor(() => expect(line.sent).toEqual(['SPEED?']));
    line.receive('SPEED=1');
    await vi.waitFor(() => expect(line.sent).toEqual(['SPEED?', 'SPEED=7']));
    await link.stop();
  });

  it('times out, drops the partial answer, and goes on', async () => {
    vi.useFakeTimers();
    const { link, line, timeouts } = await setup();
    const a = link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = link.request({ line: 'RUN?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const failed = expect(a).rejects.toMatchObject({ code: 'device_timeout', message: 'm1 did not answer "SPEED?" within 100 ms' });
    line.emit('data', Buffer.from('SPEE'));
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(timeouts).toEqual(['SPEED?']);
    expect(line.sent).toEqual(['SPEED?', 'RUN?']);
    line.receive('SPEED=1');
    await expect(b).resolves.toBe('SPEED=1');
    await link.stop();
  });

  it('keeps quiet after a timeout and drops the late answer instead of taking it for the next one', async () => {
    vi.useFakeTimers();
    const { link, line, late, streams } = await setup({ quiet_ms: 50 });
    const a = link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const failed = expect(a).rejects.toMatchObject({ code: 'device_timeout' });
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(line.sent).toEqual(['SPEED?']); // quiet: the second is not sent yet
    line.receive('SPEED=1'); // the late answer to the first
    line.receive('T=5'); // other lines still go to the streams
    await vi.advanceTimersByTimeAsync(1);
    expect(late).toEqual(['SPEED=1']);
    expect(streams).toEqual(['T=5']);
    await vi.advanceTimersByTimeAsync(50);
    expect(line.sent).toEqual(['SPEED?', 'SPEED?']);
    line.receive('SPEED=2');
    await expect(b).resolves.toBe('SPEED=2');
    await link.stop();
  });

  it('fails a request the device answers with its error line', async () => {
    const { link, line } = await setup();
    const a = link.request({ line: 'SPEED=9999', classify: isSpeed, priority: 'write', deviceId: 'm1' });
    await vi.waitFor(() => expect(line.sent).toEqual(['SPEED=9999']));
    line.receive('ERR out of range');
    await expect(a).rejects.toMatchObject({ code: 'device_error', message: 'm1 answered "SPEED=9999" with "ERR out of range"' });
    await link.stop();
  });

  it('fails the request in flight and the queued ones when the port is lost', async () => {
    const { link, line, events } = await setup({ timeout_ms: 60_000 });
    const a = link.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = link.request({ line: 'RUN?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    await vi.waitFor(() => expect(line.sent).toEqual(['SPEED?']));
    line.lose();
    await expect(a).rejects.toMatchObject({ code: 'device_offline' });
    await expect(b).rejects.toMatchObject({ code: 'device_offline' });
    expect(events).toEqual(['up', 'down: port /dev/fake lost: unplugged']);
    await link.stop();
  });

  it('reopens a lost port with jittered, doubling pauses and says down once, then up', async () => {
    vi.useFakeTimers();
    // The lowest jitter: each pause is 75% of 100, 200, 400 ms.
    const { link, line, events } = await setup({ reconnect_max_ms: 1000 }, () => 0);
    line.failOpens = 2;
    line.lose();
    await vi.advanceTimersByTimeAsync(74);
    expect(line.failOpens).toBe(2);
    await vi.advanceTimersByTimeAsync(1); // 75 ms: first attempt, fails
    expect(line.failOpens).toBe(1);
    await vi.advanceTimersByTimeAsync(149);
    expect(line.failOpens).toBe(1);
    await vi.advanceTimersByTimeAsync(1); // 150 ms later: second attempt, fails
    expect(line.failOpens).toBe(0);
    expect(link.isOpen).toBe(false);
    await vi.advanceTimersByTimeAsync(300); // 300 ms later: opens
    expect(link.isOpen).toBe(true);
    expect(events).toEqual(['up', 'down: port /dev/fake lost: unplugged', 'up']);
    expect(link.reopens).toBe(1);
    await link.stop();
  });
});

describe('LogThrottle', () => {
  it('logs the first event at once and then at most one per interval, with the count left out', () => {
    let now = 0;
    const warned: Record<string, unknown>[] = [];
    const log = { warn: (fields: Record<string, unknown>) => warned.push(fields) } as never;
    const t = new LogThrottle({ log, intervalMs: 1000, now: () => now });
    for (let i = 0; i < 50; i++) {
      t.warn('unmatched', { i }, 'line matches no point');
      now += 100;
    }
    expect(warned.map((w) => [w['i'], w['suppressed']])).toEqual([
      [0, 0],
      [10, 9],
      [20, 9],
      [30, 9],
      [40, 9],
    ]);
  });
});

describe('SimulatedLineDevice', () => {
  it('answers the motor commands from the simulator physics', () => {
    const d = new SimulatedLineDevice({ model: 'motor', noise: () => 0 });
    expect(d.answer('SPEED?')).toBe('SPEED=1200');
    expect(d.answer('SPEED=1500')).toBe('OK SPEED=1500');
    expect(d.answer('SPEED=3500')).toBe('ERR out of range');
    d.step(10, 0);
    expect(d.answer('STATUS?')).toMatch(/^RUN=1;ACT=1500\.0;I=\d+\.\d\d;T=\d+\.\d\d$/);
    expect(d.answer('RUN=0')).toBe('OK RUN=0');
    expect(d.answer('FOO')).toBe('ERR unknown command');
  });

  it('streams sensor lines', () => {
    const d = new SimulatedLineDevice({ model: 'sensor', noise: () => 0 });
    expect(d.step(1, 0)).toMatch(/^T=-?\d+\.\d\d;H=\d+\.\d$/);
  });
});
