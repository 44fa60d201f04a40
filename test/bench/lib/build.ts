/**
 * Bundles the bench processes (servers, load generator) to plain JavaScript once per run, so
 * each start costs a node start, not a TypeScript transform of the whole gateway. Packages
 * stay external and resolve from the repository's node_modules.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { ROOT } from './spawn.js';

export const BUILD_DIR = join(ROOT, 'test/bench/.build');

export const ENTRIES = ['servers/gateway', 'servers/ws-node', 'servers/uws-bare', 'servers/northbound-peer', 'loadgen', 'probe'] as const;

export async function buildBench(): Promise<void> {
  await build({
    entryPoints: ENTRIES.map((e) => join(ROOT, 'test/bench', `${e}.ts`)),
    outdir: BUILD_DIR,
    outbase: join(ROOT, 'test/bench'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: false,
    logLevel: 'warning',
  });
}
