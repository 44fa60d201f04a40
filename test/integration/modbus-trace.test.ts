/**
 * The frame trace at `log.level: trace`: every frame on the line, hex, both directions, with
 * timing, checked byte for byte against what the field peer received and sent (RTU on a PTY
 * pair, and Modbus TCP with its MBAP header).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startFieldPeer, startPtyPair, waitFor, type FieldPeer } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const compact = (hex: string) => hex.replace(/ /g, '');

async function traced(gw: RunningGateway, field: FieldPeer): Promise<void> {
  await waitFor('a few polls', () => gw.gateway.registry.snapshot('u1')!.state['v'] === 42);
  // Stop first: nothing more crosses the line while the two sides are compared.
  await gw.stop();
  const frames = gw.logs.filter((l) => l['msg'] === 'modbus frame');
  const tx = frames.filter((l) => l['dir'] === 'tx').map((l) => compact(String(l['hex'])));
  const rx = frames.filter((l) => l['dir'] === 'rx').map((l) => compact(String(l['hex'])));
  expect(tx.length).toBeGreaterThanOrEqual(1);
  // A request written just before the stop may still be on its way to the peer.
  const peer = await waitFor('the peer to have read every traced request', async () => {
    const f = await field.frames();
    return f.requests.length >= tx.length ? f : undefined;
  });
  expect(peer.requests).toEqual(tx);
  // Received chunks may be split differently from the frames the peer wrote; the bytes are the
  // same, except that the answer to a request sent as the bus stopped may not have been read.
  const got = rx.join('');
  expect(peer.replies.join('').startsWith(got)).toBe(true);
  expect(got.startsWith(peer.replies.slice(0, -1).join(''))).toBe(true);
  for (const f of frames) {
    expect(f['bus']).toBe('b');
    expect(typeof f['ms']).toBe('number');
  }
  expect(frames.filter((l) => l['dir'] === 'rx').every((l) => (l['ms'] as number) >= 0)).toBe(true);
}

describe.skipIf(!peers('socat', '/usr/bin/python3'))('Modbus frame trace', () => {
  test('RTU: the trace is what the unit received and sent, byte for byte', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const field = await startFieldPeer('rtu', pty.device, [1]);
    cleanups.push(() => field.stop());
    await field.set(1, 'hr', 5, [42]);
    const gw = await startGateway({
      log: { level: 'trace' },
      buses: [{ id: 'b', kind: 'rtu', port: pty.gateway, baud: 115200, parity: 'none' }],
      devices: [{ id: 'u1', driver: 'modbus', bus: 'b', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 5 } } }],
    });
    cleanups.push(() => gw.stop());
    await traced(gw, field);
    // The request itself, worked out by hand: unit 1, FC3, address 5, 1 register, CRC 0x0B94 (low byte first).
    expect(compact(String(gw.logs.find((l) => l['msg'] === 'modbus frame')!['hex']))).toBe('010300050001940B');
  });

  test('TCP: the trace shows the MBAP header as sent', async () => {
    const field = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => field.stop());
    await field.set(1, 'hr', 5, [42]);
    const gw = await startGateway({
      log: { level: 'trace' },
      buses: [{ id: 'b', kind: 'tcp', host: '127.0.0.1', port: field.port }],
      devices: [{ id: 'u1', driver: 'modbus', bus: 'b', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 5 } } }],
    });
    cleanups.push(() => gw.stop());
    await traced(gw, field);
  });

  test('below trace level no frame is logged', async () => {
    const field = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => field.stop());
    await field.set(1, 'hr', 5, [42]);
    const gw = await startGateway({
      log: { level: 'debug' },
      buses: [{ id: 'b', kind: 'tcp', host: '127.0.0.1', port: field.port }],
      devices: [{ id: 'u1', driver: 'modbus', bus: 'b', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 5 } } }],
    });
    cleanups.push(() => gw.stop());
    await waitFor('read', () => gw.gateway.registry.snapshot('u1')!.state['v'] === 42);
    expect(gw.logs.some((l) => l['msg'] === 'modbus frame')).toBe(false);
  });
});
