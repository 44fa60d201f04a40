/**
 * Hostile configuration files: generated objects through validateConfig and generated YAML text
 * through the loader, then a few through the real `mgw config check`. Every outcome is a valid
 * config or a ConfigError whose every problem names where it is (a path, or a line and column),
 * never a crash or a stack trace.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, parseConfigText, validateConfig } from '../../src/config/load.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { shortFailure } from './hostile.js';

const VALID = {
  server: { host: '127.0.0.1', port: 8000, max_connections: 100, tls: { cert_file: '/etc/mgw/cert.pem', key_file: '/etc/mgw/key.pem' } },
  auth: { tokens: [{ name: 'panel_1', role: 'operator', hash: hashToken(newToken()) }], allowed_origins: ['https://hmi.plant.example'], failed_attempts_per_min: 10 },
  limits: { ws_messages_per_s: 20, max_subscriptions: 100 },
  registry: { replay_size: 100 },
  log: { level: 'info' },
  state_dir: '/var/lib/machine-gateway',
  devices: [
    { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 250 },
    { id: 'sensor_01', driver: 'simulator', model: 'sensor' },
  ],
};

/** A problem line: `path: message` or `(top level): message`, or a YAML `line N, column M: message`. */
const SEG = String.raw`(?:\[\d+\]|\["(?:[^"\\]|\\.)*"\])`;
const WITH_PLACE = new RegExp(String.raw`^(?:\(top level\)|line \d+, column \d+|(?:[A-Za-z_]\w*|${SEG})(?:\.[A-Za-z_]\w*|${SEG})*): \S`);
const EMPTY = 'the file is empty; it needs at least a `devices:` list';
const STACK = /\n\s+at |\bat [\w.]+ \(|node_modules|\.ts:\d+/;

function outcome(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) return `not a ConfigError: ${(err as Error)?.stack ?? String(err)}`;
    if (err.problems.length === 0) return 'ConfigError without problems';
    for (const p of err.problems) {
      if (p === EMPTY) continue; // the whole file is the place
      if (!WITH_PLACE.test(p)) return `problem without a path: ${JSON.stringify(p)}`;
      if (STACK.test(p)) return `stack trace in: ${p}`;
    }
    return undefined;
  }
}

const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1e308, -1e308, 0.5, 2 ** 53 + 1, '', ' ', '0.0.0.0', 'sha256:' + 'a'.repeat(64), 'SHA256:' + 'A'.repeat(64), 'admin', 'root', null, true, [], {}),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const key = fc.oneof(
  fc.constantFrom('server', 'auth', 'limits', 'tokens', 'role', 'hash', 'name', 'host', 'port', 'tls', 'cert_file', 'devices', 'id', 'driver', 'model', 'state_dir', 'trusted_network', 'allowed_origins'),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
  fc.string({ maxLength: 12 }),
);

type Json = unknown;
/** Replaces, deletes or adds one thing at a random place of the valid config. */
function mutate(base: Json, steps: { path: number[]; op: number; value: Json; key: string }[]): Json {
  const copy = JSON.parse(JSON.stringify(base)) as Json;
  for (const step of steps) {
    let node = copy as Record<string, Json> | Json[];
    for (const pick of step.path) {
      const keys = Object.keys(node as object);
      if (keys.length === 0) break;
      const k = keys[pick % keys.length]!;
      const child = (node as Record<string, Json>)[k];
      if (typeof child !== 'object' || child === null) {
        if (step.op === 0) (node as Record<string, Json>)[k] = step.value;
        else if (step.op === 1) delete (node as Record<string, Json>)[k];
        else Object.defineProperty(node, step.key, { value: step.value, enumerable: true, configurable: true, writable: true });
        node = undefined as never;
        break;
      }
      node = child as Record<string, Json>;
    }
    if (node !== undefined && step.op === 2) Object.defineProperty(node, step.key, { value: step.value, enumerable: true, configurable: true, writable: true });
  }
  return copy;
}

const mutation = fc.array(fc.record({ path: fc.array(fc.nat(20), { maxLength: 5 }), op: fc.nat(2), value: leaf, key }), { minLength: 1, maxLength: 4 });

describe('config fuzzing', () => {
  it('the valid base config is valid', () => {
    expect(() => validateConfig(VALID)).not.toThrow();
  });

  it('gives every problem of 5,000 mutated and 2,000 random configs a path, never a crash', async () => {
    const t0 = performance.now();
    let invalid = 0;
    await shortFailure(
      fc.assert(
        fc.property(mutation, (steps) => {
          const cfg = mutate(VALID, steps);
          const why = outcome(() => validateConfig(cfg));
          if (why !== undefined) throw new Error(`${why}\nconfig: ${JSON.stringify(cfg).slice(0, 800)}`);
          if (outcome(() => validateConfig(cfg)) === undefined) invalid++;
        }),
        { numRuns: 5000 },
      ) as unknown as Promise<void>,
    );
    await shortFailure(
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(key, leaf)), (cfg) => {
          const why = outcome(() => validateConfig(cfg));
          if (why !== undefined) throw new Error(`${why}\nconfig: ${JSON.stringify(cfg).slice(0, 800)}`);
        }),
        { numRuns: 2000 },
      ) as unknown as Promise<void>,
    );
    console.log(`config fuzz (objects): 7000 configs in ${Math.round(performance.now() - t0)} ms`);
    expect(invalid).toBeGreaterThan(0);
  });

  it('gives every problem of 1,000 mutated YAML texts a path or a line and column', async () => {
    const text = stringify(VALID);
    const t0 = performance.now();
    await shortFailure(
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(text.length), fc.nat(20), fc.constantFrom('', ':', '- ', '\n', '  ', '{', '[', '"', "'", '&a', '*a', '!!binary ', '<<: *a', '\t', '#', '%YAML 1.2\n---\n', '~', '0x1F', '1e999', '__proto__: ')), { minLength: 1, maxLength: 4 }),
          (edits) => {
            let t = text;
            for (const [at, cut, insert] of edits) t = t.slice(0, at) + insert + t.slice(Math.min(t.length, at + cut));
            const why = outcome(() => parseConfigText(t));
            if (why !== undefined) throw new Error(`${why}\nyaml:\n${t.slice(0, 800)}`);
          },
        ),
        { numRuns: 1000 },
      ) as unknown as Promise<void>,
    );
    console.log(`config fuzz (yaml): 1000 texts in ${Math.round(performance.now() - t0)} ms`);
  });

  it('`mgw config check` prints paths and exits 78 for bad files, without stack traces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-cfg-'));
    try {
      const samples = fc.sample(mutation.map((m) => mutate(VALID, m)), { numRuns: 1, seed: 42 });
      const files = [
        ...samples.map((cfg, i) => [`m${i}.yaml`, stringify(cfg)] as const),
        ['tokens.yaml', 'auth:\n  tokens:\n    - { name: a, role: god, hash: "mgw_plaintext" }\ndevices:\n  - { id: m, driver: simulator, model: motor }\n'] as const,
        ['twice.yaml', 'auth:\n  tokens:\n    - { name: a, role: viewer, hash: "sha256:' + 'c'.repeat(64) + '" }\n    - { name: a, role: admin, hash: "sha256:' + 'b'.repeat(64) + '" }\ndevices:\n  - { id: m, driver: simulator, model: motor }\n'] as const,
        ['alias.yaml', 'server: *nowhere\ndevices:\n  - { id: m, driver: simulator, model: motor }\n'] as const,
        ['broken.yaml', 'server: {host: [\n'] as const,
      ];
      const results = await Promise.all(
        files.map(([name, body]) => {
          const file = join(dir, name);
          writeFileSync(file, body);
          return new Promise<{ name: string; code: number; stderr: string; stdout: string }>((resolve) => {
            execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'config', 'check', file], { timeout: 60_000 }, (err, stdout, stderr) => {
              resolve({ name, code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr, stdout });
            });
          });
        }),
      );
      for (const r of results) {
        expect([0, 78], `${r.name}: ${r.stderr}`).toContain(r.code);
        expect(r.stderr).not.toMatch(STACK);
        if (r.code === 78) {
          const lines = r.stderr.trim().split('\n').slice(1).map((l) => l.trim());
          expect(lines.length).toBeGreaterThan(0);
          for (const l of lines) if (l !== EMPTY) expect(l).toMatch(WITH_PLACE);
        }
      }
      const tokens = results.find((r) => r.name === 'tokens.yaml')!;
      expect(tokens.stderr).toMatch(/auth\.tokens\[0\]\.role: must be one of viewer, operator, admin/);
      expect(tokens.stderr).toMatch(/auth\.tokens\[0\]\.hash: must be "sha256:"/);
      expect(results.find((r) => r.name === 'twice.yaml')!.stderr).toMatch(/auth\.tokens\[1\]\.name: "a" is already used by auth\.tokens\[0\]/);
      expect(results.find((r) => r.name === 'alias.yaml')!.code).toBe(78);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
