/**
 * Behaviour that only shows on a terminal: colour (and NO_COLOR), the scan progress bar, the
 * in-place --watch table. The CLI runs under `script`, which gives it a real pseudo-terminal.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { CLI, loadTestMap, startModbusPeer, type ModbusPeer } from './helpers.js';

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs mgw on a pseudo-terminal; stdout and stderr both arrive in `output` (CR LF line ends). */
function inTty(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; output: string }> {
  const cmd = [process.execPath, CLI, ...args].map(sh).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { env: { ...process.env, TERM: 'xterm', NO_COLOR: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mgw ${args.join(' ')} on a tty did not finish; output: ${output}`));
    }, 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

describe.skipIf(!peers('script', '/usr/bin/python3'))('mgw on a terminal', () => {
  let gw: RunningGateway;
  let peer: ModbusPeer;
  let host: string;

  beforeAll(async () => {
    gw = await startGateway();
    peer = await startModbusPeer('tcp', '0', [4]);
    host = `127.0.0.1:${peer.where}`;
    await loadTestMap(peer, 4);
  });
  afterAll(async () => {
    await peer?.stop();
    await gw?.stop();
  });

  it('colours the online state on a terminal, and not with NO_COLOR set', async () => {
    const coloured = await inTty(['--url', gw.url, 'devices']);
    expect(coloured.code).toBe(0);
    expect(coloured.output).toContain('\x1b[32monline\x1b[0m');
    const plain = await inTty(['--url', gw.url, 'devices'], { NO_COLOR: '1' });
    expect(plain.code).toBe(0);
    expect(plain.output).toMatch(/motor_01\s+motor\s+online/);
    expect(plain.output).not.toContain('\x1b[');
  });

  it('an empty NO_COLOR leaves colour on (no-color.org: only a non-empty value turns it off)', async () => {
    const r = await inTty(['--url', gw.url, 'devices'], { NO_COLOR: '' });
    expect(r.code).toBe(0);
    expect(r.output).toContain('\x1b[32monline\x1b[0m');
  });

  it('scan draws a progress bar with the time left on the terminal, then the table', async () => {
    const r = await inTty(['modbus', 'scan', '--host', host, '--from', '1', '--to', '6']);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/\r\x1b\[2K\[#*-*\] \d\/6  unit \d  found \d  ~(\?|\d+ s) left/);
    expect(r.output).toMatch(/^4\s+0x0190\s+\d+ ms\r$/m);
  });

  it('--watch redraws the table in place on a terminal', async () => {
    const r = await inTty(['modbus', 'read', '--host', host, '--unit', '4', '--address', '40002', '--type', 'int16', '--watch', '20', '--samples', '3']);
    expect(r.code).toBe(0);
    // Each redraw moves the cursor up over the previous sample (time + header + one row) and clears.
    expect(r.output.match(/\x1b\[3A\x1b\[J/g)).toHaveLength(2);
    expect(r.output.match(/^40002\s+1\s+0xFF85\s+-123\r$/gm)).toHaveLength(3);
  });
});
