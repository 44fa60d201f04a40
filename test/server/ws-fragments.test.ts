/**
 * Long WebSocket messages go out as one message in fragments (src/server/ws-connection.ts), so
 * uWS keeps no per-socket copy of them. Read here frame by frame from a raw TCP socket: what
 * the wire carries, not what a client library reassembles.
 */
import { connect, type Socket as NetSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAGMENT_CHARS, sendFragmented, type Socket } from '../../src/server/ws-connection.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A raw WebSocket client: the upgrade by hand, then the server's (unmasked) frames as they come. */
async function rawClient(port: number, path: string): Promise<{ socket: NetSocket; frames: Frame[]; next: (n: number) => Promise<Frame[]>; sendText: (text: string) => void }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const frames: Frame[] = [];
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let waiting: { n: number; resolve: (f: Frame[]) => void } | undefined;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      expect(buf.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
      buf = buf.subarray(end + 4);
      upgraded = true;
    }
    for (;;) {
      if (buf.length < 2) break;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) [len, at] = [buf.length >= 4 ? buf.readUInt16BE(2) : -1, 4];
      else if (len === 127) [len, at] = [buf.length >= 10 ? Number(buf.readBigUInt64BE(2)) : -1, 10];
      if (len < 0 || buf.length < at + len) break;
      frames.push({ fin: (buf[0]! & 0x80) !== 0, opcode: buf[0]! & 0x0f, payload: buf.subarray(at, at + len) });
      buf = buf.subarray(at + len);
    }
    if (waiting !== undefined && frames.length >= waiting.n) waiting.resolve(frames.slice(0, waiting.n));
  });
  const next = (n: number) => new Promise<Frame[]>((resolve) => (frames.length >= n ? resolve(frames.slice(0, n)) : (waiting = { n, resolve })));
  const sendText = (text: string) => {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    socket.write(Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]));
  };
  return { socket, frames, next, sendText };
}

/** The frames of whole messages, reassembled: [opcode of the first frame, text, frame count]. */
function messages(frames: Frame[]): [number, string, number][] {
  const out: [number, string, number][] = [];
  let current: Frame[] = [];
  for (const f of frames) {
    current.push(f);
    if (f.fin) {
      out.push([current[0]!.opcode, Buffer.concat(current.map((c) => c.payload)).toString('utf8'), current.length]);
      current = [];
    }
  }
  return out;
}

let gw: RunningGateway;
beforeAll(async () => {
  const devices = Array.from({ length: 40 }, (_, i) => ({ id: `rio_${i}`, name: `Rack ${i} – Hall °C`, driver: 'simulator' as const, model: 'io' as const, poll_interval_ms: 60_000 }));
  gw = await startGateway({ devices });
});
afterAll(() => gw.stop());

describe('long WebSocket messages', () => {
  it('go out in fragments that reassemble to the same JSON, and short ones in one frame', async () => {
    const c = await rawClient(gw.port, '/ws/devices');
    try {
      // The welcome (40 io devices) is long: a text frame, continuation frames, FIN on the last.
      const welcomeFrames = await waitForMessages(c, 1);
      const [welcome] = messages(welcomeFrames);
      expect(welcome![0]).toBe(1);
      expect(welcome![2]).toBeGreaterThan(1);
      expect(JSON.parse(welcome![1]).type).toBe('connection_established');
      // get_all_status: much longer than a fragment; every frame after the first is a continuation.
      c.sendText(JSON.stringify({ action: 'get_all_status', id: 7 }));
      const all = await waitForMessages(c, 2);
      const replyFrames = all.slice(welcomeFrames.length);
      expect(replyFrames[0]!.opcode).toBe(1);
      expect(replyFrames.slice(1).every((f) => f.opcode === 0)).toBe(true);
      expect(replyFrames.filter((f) => f.fin)).toHaveLength(1);
      const reply = JSON.parse(messages(replyFrames)[0]![1]);
      expect(reply).toMatchObject({ type: 'all_devices_status', id: 7 });
      expect(reply.devices).toHaveLength(40);
      expect(reply.devices[3].name).toBe('Rack 3 – Hall °C');
      // A short reply stays one frame.
      c.sendText(JSON.stringify({ action: 'ping', id: 8 }));
      const withPong = await waitForMessages(c, 3);
      const pong = withPong.slice(all.length);
      expect(pong).toHaveLength(1);
      expect(JSON.parse(pong[0]!.payload.toString())).toMatchObject({ type: 'pong', id: 8 });
    } finally {
      c.socket.destroy();
    }
  });
});

/** Frames until `n` whole messages are in. */
async function waitForMessages(c: Awaited<ReturnType<typeof rawClient>>, n: number): Promise<Frame[]> {
  for (let want = c.frames.length + 1; ; want++) {
    const frames = await c.next(want);
    if (frames.filter((f) => f.fin).length >= n) return frames;
  }
}

describe('sendFragmented', () => {
  it('never splits a surrogate pair, keeps the order, and stops at a dropped fragment', () => {
    const sent: [string, string][] = [];
    let dropAt = -1;
    const fake = {
      sendFirstFragment: (p: string) => (sent.push(['first', p]), sent.length - 1 === dropAt ? 2 : 1),
      sendFragment: (p: string) => (sent.push(['middle', p]), sent.length - 1 === dropAt ? 2 : 1),
      sendLastFragment: (p: string) => (sent.push(['last', p]), sent.length - 1 === dropAt ? 2 : 1),
    } as unknown as Socket;
    // An emoji (two UTF-16 units) astride the first fragment boundary.
    const text = 'a'.repeat(FRAGMENT_CHARS - 1) + '😀' + 'b'.repeat(FRAGMENT_CHARS * 2) + '°';
    expect(sendFragmented(fake, text)).toBe(1);
    expect(sent.map(([k]) => k)).toEqual(['first', 'middle', 'middle', 'last']);
    expect(sent.map(([, p]) => p).join('')).toBe(text);
    for (const [, p] of sent) expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p); // each alone is valid UTF-8
    sent.length = 0;
    dropAt = 1;
    expect(sendFragmented(fake, text)).toBe(2);
    expect(sent).toHaveLength(2);
  });
});
