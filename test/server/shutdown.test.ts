import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { TestClient } from '../helpers/gateway.js';

describe('SIGTERM', () => {
  it('closes connected clients with 1001 and exits 0 within the shutdown budget', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--config', 'config/gateway.yaml'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
    const port = await new Promise<number>((resolve, reject) => {
      const check = () => {
        const m = /"msg":"gateway ready"/.test(out) ? /"port":(\d+),"msg":"listening"/.exec(out) : null;
        if (m) resolve(Number(m[1]));
      };
      child.stdout.on('data', check);
      void exited.then(() => reject(new Error(`exited early: ${out}`)));
    });
    const clients = await Promise.all([0, 1, 2].map(() => TestClient.connect(`ws://127.0.0.1:${port}/ws/devices`)));
    const sent = Date.now();
    child.kill('SIGTERM');
    const closes = await Promise.all(clients.map((c) => c.waitClose()));
    for (const c of closes) expect(c.code).toBe(1001);
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - sent).toBeLessThan(2000); // the daemon's own shutdown budget (server.shutdown_timeout_ms)
    expect(out).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
    expect(out).toMatch(/"msg":"gateway stopped"/);
  });
});
