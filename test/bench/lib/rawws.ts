/**
 * A minimal WebSocket client over a raw TCP socket for the load generator: the handshake, then
 * unmasked server frames parsed straight from the socket chunks. It costs far less per message
 * than the `ws` client, so one process on one core can absorb what the servers push (a `ws`
 * client costs 5-25 us per delivery and was the limit in earlier runs). Text messages are handed
 * over as strings, put back together when the server fragments them (a text frame without FIN,
 * then continuation frames); pings are answered; nothing else of the protocol is needed here.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawWsHandlers {
  /** A text message; `at` is the arrival time of the TCP chunk that completed it (epoch ms). */
  message(text: string, at: number): void;
  open(): void;
  close(reason: string): void;
}

export class RawWsClient {
  private socket: Socket | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private upgraded = false;
  /** The frames so far of a fragmented text message (undefined when none is open). */
  private fragments: Buffer[] | undefined;
  closed = false;

  constructor(
    private readonly options: { host: string; port: number; path: string; handlers: RawWsHandlers },
  ) {}

  start(): void {
    const { host, port, path } = this.options;
    const socket = connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.finish(`socket error: ${err.message}`));
    socket.on('close', () => this.finish('socket closed'));
  }

  stop(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.handlers.close(reason);
  }

  private onData(chunk: Buffer): void {
    const at = performance.timeOrigin + performance.now();
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = buf;
        return;
      }
      const head = buf.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        this.finish(`upgrade refused: ${head.split('\r\n')[0]}`);
        this.socket?.destroy();
        return;
      }
      this.upgraded = true;
      this.options.handlers.open();
      buf = buf.subarray(end + 4);
    }
    let off = 0;
    while (buf.length - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      if (buf.length - off < hdr + len) break;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      const payload = buf.subarray(off + hdr, off + hdr + len);
      off += hdr + len;
      if (opcode === 1 && fin) this.options.handlers.message(payload.toString('utf8'), at);
      else if (opcode === 1 || opcode === 0) {
        if ((opcode === 1) === (this.fragments !== undefined)) {
          this.finish(opcode === 1 ? 'protocol error: a new text message inside a fragmented one' : 'protocol error: a continuation frame with no message to continue');
          this.socket?.destroy();
          return;
        }
        (this.fragments ??= []).push(payload);
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = undefined;
          this.options.handlers.message(whole.toString('utf8'), at);
        }
      }
      else if (opcode === 9) this.sendControl(0x8a, payload);
      else if (opcode === 8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.finish(`closed by server: ${code} ${payload.subarray(2).toString('utf8')}`);
        this.socket?.destroy();
        return;
      }
    }
    this.pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }

  /** Client frames must be masked; control payloads are short (< 126 bytes). */
  private sendControl(b0: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = b0;
    frame[1] = 0x80 | payload.length;
    mask.copy(frame, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i % 4]!;
    this.socket?.write(frame);
  }
}
