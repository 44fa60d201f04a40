/**
 * `mgw modbus ... --trace`: every frame on stderr, checked byte for byte against what the field
 * peer received and sent (Modbus TCP with its MBAP header, and RTU on a PTY pair).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { mgw } from './helpers.js';
import { startFieldPeer, startPtyPair } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function traced(stderr: string): { tx: string[]; rx: string[] } {
  const lines = stderr.split('\n').filter((l) => /^(TX|RX) /.test(l));
  const hex = (l: string) => l.replace(/^TX\s+|^RX\s+\+[\d.]+ ms /, '').replace(/ /g, '');
  return { tx: lines.filter((l) => l.startsWith('TX')).map(hex), rx: lines.filter((l) => l.startsWith('RX')).map(hex) };
}

describe.skipIf(!peers('socat', '/usr/bin/python3'))('mgw modbus --trace', () => {
  it('TCP: prints each request and answer as the peer saw them, with timing', async () => {
    const field = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => field.stop());
    await field.set(1, 'hr', 3, [0x1234, 0x5678]);
    const r = await mgw(['modbus', 'read', '--host', `127.0.0.1:${field.port}`, '--unit', '1', '--address', '3', '--count', '2', '--trace']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0x1234');
    const t = traced(r.stderr);
    const peer = await field.frames();
    expect(t.tx).toEqual(peer.requests);
    expect(t.rx.join('')).toBe(peer.replies.join(''));
    expect(t.tx).toEqual(['000100000006010300030002']);
    expect(r.stderr).toMatch(/^RX\s+\+\d+\.\d ms 00 01 00 00 00 07 01 03 04 12 34 56 78$/m);
  });

  it('RTU: the request on the wire, byte for byte', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const field = await startFieldPeer('rtu', pty.device, [1]);
    cleanups.push(() => field.stop());
    await field.set(1, 'hr', 5, [42]);
    const r = await mgw(['modbus', 'read', '--port', pty.gateway, '--baud', '115200', '--parity', 'none', '--unit', '1', '--address', '5', '--trace']);
    expect(r.code).toBe(0);
    const t = traced(r.stderr);
    expect(t.tx).toEqual(['010300050001940B']);
    expect(t.tx).toEqual((await field.frames()).requests);
    expect(t.rx.join('')).toBe((await field.frames()).replies.join(''));
  });

  it('without --trace nothing of the kind is printed', async () => {
    const field = await startFieldPeer('tcp', 0, [1]);
    cleanups.push(() => field.stop());
    const r = await mgw(['modbus', 'read', '--host', `127.0.0.1:${field.port}`, '--unit', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
