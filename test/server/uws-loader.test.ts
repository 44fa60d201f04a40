import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { UWS_BUILDS, UwsLoadError, binaryName, loadUws, loadUwsBuild, uwsBuild } from '../../src/server/uws.js';

const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime ?? '0';
const glibcAtLeast = (v: string) => glibc.localeCompare(v, undefined, { numeric: true }) >= 0;

function loadError(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(UwsLoadError);
    return (e as Error).message;
  }
  throw new Error('expected a UwsLoadError');
}

describe('the uWebSockets.js loader', () => {
  it('loads the native binary for this platform and ABI', () => {
    const lib = loadUws();
    expect(typeof lib.App).toBe('function');
    expect(typeof lib.us_socket_local_port).toBe('function');
    expect(binaryName()).toBe(`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  });

  it('picks the 20.57 build where glibc >= 2.38 and Node has its ABI, else the 20.30 build', () => {
    const { build, file } = uwsBuild();
    const newer = glibcAtLeast('2.38') && ['115', '127', '137', '141'].includes(process.versions.modules);
    expect(build.label).toBe(newer ? '@btc-vision/uwebsockets.js 20.57.0' : '@trufflesuite/uws-js-unofficial 20.30.0');
    expect(file.endsWith(binaryName())).toBe(true);
  });

  it.runIf(!glibcAtLeast('2.38'))('says why the 20.57 build does not fit an older glibc', () => {
    const msg = loadError(() => loadUwsBuild([UWS_BUILDS[0]!]));
    expect(msg).toContain(`no uWebSockets.js build runs on ${process.platform}/${process.arch}, Node ${process.versions.node} (ABI ${process.versions.modules}), glibc ${glibc}`);
    expect(msg).toMatch(/@btc-vision\/uwebsockets\.js 20\.57\.0: .* did not load: .*GLIBC_2\.38/);
  });

  it('refuses with one error naming the combination and why each build did not fit', () => {
    const empty = mkdtempSync(join(tmpdir(), 'mgw-uws-'));
    const broken = mkdtempSync(join(tmpdir(), 'mgw-uws-'));
    writeFileSync(join(broken, binaryName()), 'not an ELF file');
    const dirs = new Map([
      [UWS_BUILDS[0]!, broken],
      [UWS_BUILDS[1]!, empty],
    ]);
    const msg = loadError(() => loadUwsBuild(UWS_BUILDS, (b) => dirs.get(b)));
    expect(msg).toContain(`${process.platform}/${process.arch}, Node ${process.versions.node} (ABI ${process.versions.modules})`);
    expect(msg).toMatch(/@btc-vision\/uwebsockets\.js 20\.57\.0: .*did not load: .*(invalid ELF|too short)/);
    expect(msg).toContain(`@trufflesuite/uws-js-unofficial 20.30.0: no binary ${binaryName()} (ships none for this platform)`);
    expect(msg).toContain('Node 20, 22, 24, 25 on linux x64/arm64 with glibc >= 2.38');
    expect(msg).toContain('Node 16, 18, 20 on linux x64/arm64/armv7 with glibc >= 2.27');
    expect(loadError(() => loadUws(empty))).toContain(`no binary ${binaryName()}`);
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
