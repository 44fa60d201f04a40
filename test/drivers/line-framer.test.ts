import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineFramer, type DiscardKind } from '../../drivers/line/framer.js';
import { Transactor } from '../../drivers/line/transactor.js';
import { LogThrottle } from '../../drivers/line/throttle.js';
import { SimulatedLineDevice } from '../../drivers/line/simulated.js';
import { GatewayError } from '../../src/core/errors.js';

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

describe('Transactor', () => {
  afterEach(() => vi.useRealTimers());

  function setup(timeoutMs = 100) {
    const sent: string[] = [];
    const timeouts: string[] = [];
    const tx = new Transactor({ send: async (l) => void sent.push(l), timeoutMs, onTimeout: (r) => timeouts.push(r.line) });
    return { tx, sent, timeouts };
  }
  const isSpeed = (l: string) => (l.startsWith('SPEED=') ? ('answer' as const) : l.startsWith('ERR') ? ('error' as const) : ('other' as const));

  it('keeps one request outstanding and sends the next after the answer', async () => {
    const { tx, sent } = setup();
    const a = tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm2' });
    await vi.waitFor(() => expect(sent).toEqual(['SPEED?']));
    expect(tx.offer('T=1')).toBe(false); // not the answer: left for the streams
    expect(tx.offer('SPEED=5')).toBe(true);
    await expect(a).resolves.toBe('SPEED=5');
    await vi.waitFor(() => expect(sent).toEqual(['SPEED?', 'SPEED?']));
    tx.offer('SPEED=6');
    await expect(b).resolves.toBe('SPEED=6');
  });

  it('puts writes before queued polls', async () => {
    // Long timeout: on a loaded machine the requests left pending must not time out while the
    // test still runs; their rejections after it ends are expected and swallowed.
    const { tx, sent } = setup(60_000);
    const ignore = () => undefined;
    tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' }).catch(ignore);
    tx.request({ line: 'STATUS?', classify: isSpeed, priority: 'poll', deviceId: 'm1' }).catch(ignore);
    tx.request({ line: 'SPEED=7', classify: isSpeed, priority: 'write', deviceId: 'm1' }).catch(ignore);
    await vi.waitFor(() => expect(sent).toEqual(['SPEED?']));
    tx.offer('SPEED=1');
    await vi.waitFor(() => expect(sent).toEqual(['SPEED?', 'SPEED=7']));
  });

  it('times out, lets the caller drop the partial answer, and goes on', async () => {
    vi.useFakeTimers();
    const { tx, sent, timeouts } = setup(100);
    const a = tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = tx.request({ line: 'RUN?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const failed = expect(a).rejects.toMatchObject({ code: 'device_timeout', message: 'm1 did not answer "SPEED?" within 100 ms' });
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(timeouts).toEqual(['SPEED?']);
    expect(sent).toEqual(['SPEED?', 'RUN?']);
    tx.offer('SPEED=1');
    await expect(b).resolves.toBe('SPEED=1');
  });

  it('keeps quiet after a timeout and drops the late answer instead of taking it for the next one', async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const late: string[] = [];
    const tx = new Transactor({
      send: async (l) => void sent.push(l),
      timeoutMs: 100,
      quietMs: 50,
      onTimeout: () => undefined,
      onLate: (l) => late.push(l),
    });
    const a = tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const failed = expect(a).rejects.toMatchObject({ code: 'device_timeout' });
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(sent).toEqual(['SPEED?']); // quiet: the second is not sent yet
    expect(tx.offer('SPEED=1')).toBe(true); // the late answer to the first
    expect(late).toEqual(['SPEED=1']);
    expect(tx.offer('T=5')).toBe(false); // other lines still go to the streams
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toEqual(['SPEED?', 'SPEED?']);
    tx.offer('SPEED=2');
    await expect(b).resolves.toBe('SPEED=2');
  });

  it('fails a request the device answers with its error line', async () => {
    const { tx } = setup();
    const a = tx.request({ line: 'SPEED=9999', classify: isSpeed, priority: 'write', deviceId: 'm1' });
    await vi.waitFor(() => expect(tx.busy).toBe(true));
    tx.offer('ERR out of range');
    await expect(a).rejects.toMatchObject({ code: 'device_error', message: 'm1 answered "SPEED=9999" with "ERR out of range"' });
  });

  it('fails everything when the port is lost', async () => {
    const { tx } = setup();
    const a = tx.request({ line: 'SPEED?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    const b = tx.request({ line: 'RUN?', classify: isSpeed, priority: 'poll', deviceId: 'm1' });
    tx.failAll(new GatewayError('device_offline', 'port lost'));
    await expect(a).rejects.toMatchObject({ code: 'device_offline' });
    await expect(b).rejects.toMatchObject({ code: 'device_offline' });
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
