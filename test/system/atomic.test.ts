/**
 * Atomic file replacement: a reader never sees a torn file, even when the writer is killed with
 * SIGKILL mid-write (a power cut as far as the process can tell).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/platform/atomic.js';

const ATOMIC_JS = resolve(import.meta.dirname, '../../dist/src/platform/atomic.js');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mgw-atomic-'));
  dirs.push(d);
  return d;
};

describe('atomic file writes', () => {
  it('replaces the file with the new content, private to the owner, leaving no temp file behind', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    writeFileAtomicSync(file, '{"v":1}');
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await writeFileAtomic(file, '{"v":2}');
    expect(readFileSync(file, 'utf8')).toBe('{"v":2}');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('removes temp files a crashed writer left and keeps the target intact when the directory is missing', () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    writeFileSync(join(dir, '.state.json.tmp-999999-0'), 'half a fi');
    writeFileAtomicSync(file, 'complete');
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(() => writeFileAtomicSync(join(dir, 'missing', 'x.json'), 'data')).toThrow(/ENOENT/);
  });

  it('never leaves a torn file when the writer is killed mid-write', async () => {
    expect(existsSync(ATOMIC_JS), 'run `npm run build` first').toBe(true);
    const dir = tempDir();
    const file = join(dir, 'state.json');
    // The writer rewrites a 1 MB JSON document with a checksum as fast as it can.
    const script = `
      import { writeFileAtomicSync } from ${JSON.stringify(ATOMIC_JS)};
      const payload = 'x'.repeat(1 << 20);
      for (let n = 0; ; n++) {
        writeFileAtomicSync(${JSON.stringify(file)}, JSON.stringify({ n, payload, len: payload.length + n }));
        if (n % 5 === 0) process.stdout.write(n + '\\n');
      }`;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      // Kill it once it is well into its writes.
      await new Promise<void>((resolve) => {
        let seen = 0;
        child.stdout.on('data', (b: Buffer) => {
          seen += b.toString().split('\n').filter(Boolean).length;
          if (seen >= 3) resolve();
        });
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { n: number; payload: string; len: number };
      expect(doc.len).toBe(doc.payload.length + doc.n);
    }
  });
});
