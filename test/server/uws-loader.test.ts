import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { UwsLoadError, binaryName, loadUws } from '../../src/server/uws.js';

describe('the uWebSockets.js loader', () => {
  it('loads the native binary for this platform and ABI', () => {
    const lib = loadUws();
    expect(typeof lib.App).toBe('function');
    expect(typeof lib.us_socket_local_port).toBe('function');
    expect(binaryName()).toBe(`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  });

  it('refuses with a clear error naming platform, ABI and the fix when the binary is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'mgw-uws-'));
    let err: unknown;
    try {
      loadUws(empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UwsLoadError);
    const msg = (err as Error).message;
    expect(msg).toContain(`${process.platform}/${process.arch}`);
    expect(msg).toContain(`ABI ${process.versions.modules}`);
    expect(msg).toMatch(/Node\.js 20/);
  });

  it('never runs on the pure-JS fallback, even with UWS_USE_FALLBACK=1: WebSocket upgrades work', async () => {
    // The fallback cannot run upgrade handlers; a served WebSocket proves the native binary.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--config', 'config/gateway.yaml'], {
      env: { ...process.env, UWS_USE_FALLBACK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"port":(\d+),"msg":"listening"/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/devices`);
        ws.on('message', (d) => {
          resolve(JSON.parse(d.toString()) as Record<string, unknown>);
          ws.close();
        });
        ws.on('error', reject);
      });
      expect(hello['type']).toBe('connection_established');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
