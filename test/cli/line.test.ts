/**
 * `mgw line send` against a line-protocol device played by this test on the far end of a PTY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { peers } from '../helpers/peers.js';
import { mgw, ptyPair, type PtyPair } from './helpers.js';

describe.skipIf(!peers('socat'))('mgw line send', () => {
  let pty: PtyPair;
  let device: SerialPort;
  const received: string[] = [];

  beforeAll(async () => {
    pty = await ptyPair();
    device = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false });
    await new Promise<void>((res, rej) => device.open((e) => (e ? rej(e) : res())));
    let buf = '';
    // A scale: answers ID? with one line, W? with a reading and a status line, ignores MUTE.
    device.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i + 1);
        buf = buf.slice(i + 1);
        received.push(line);
        const cmd = line.trim();
        if (cmd === 'ID?') device.write('SCALE-42\r\n');
        if (cmd === 'W?') {
          device.write('+001.25 kg\r');
          device.write('\nOK\r\n');
        }
      }
    });
  });
  afterAll(async () => {
    if (device?.isOpen) await new Promise<void>((res) => device.close(() => res()));
    await pty?.stop();
  });

  it('sends the line with CR LF and prints the answer', async () => {
    const r = await mgw(['line', 'send', '--port', pty.a, 'ID?']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('SCALE-42\n');
    expect(received).toContain('ID?\r\n');
  });

  it('waits for several answer lines and reports them as JSON', async () => {
    const r = await mgw(['--json', 'line', 'send', '--port', pty.a, '--eol', 'lf', '--lines', '2', 'W?']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { answer: string[]; sent: string; settings: string };
    expect(out).toMatchObject({ answer: ['+001.25 kg', 'OK'], sent: 'W?\n', settings: '9600 8N1' });
  });

  it('a device that stays silent is "no answer" with the settings to check, exit 75', async () => {
    const r = await mgw(['line', 'send', '--port', pty.a, '--timeout', '200', 'MUTE']);
    expect(r.code).toBe(75);
    expect(r.stderr).toBe(`mgw: no answer from ${pty.a} at 9600 8N1 within 200 ms to "MUTE\\r\\n" (got nothing): check wiring, baud rate, parity and the line ending (--eol)\n`);
  });

  it('bad settings are usage errors, exit 64', async () => {
    const r = await mgw(['line', 'send', '--port', pty.a, '--eol', 'crcr', 'ID?']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--eol "crcr": expected crlf, lf, cr or none');
  });
});
