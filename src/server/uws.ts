/**
 * Loads a native uWebSockets.js binary, and only that.
 *
 * Two npm republishes of uWS.js are installed, because no single one covers the machines we run
 * on (README "Supported platforms"):
 * - `@btc-vision/uwebsockets.js` 20.57: Node 20, 22, 24, 25 on linux x64/arm64, built against
 *   glibc 2.38 (Debian 13 trixie, Pi OS trixie, Ubuntu 24.04);
 * - `@trufflesuite/uws-js-unofficial` 20.30 (installed as `uWebSockets.js`): Node 16, 18, 20 on
 *   linux x64/arm64/armv7, glibc 2.27 (Debian 12 bookworm, Pi OS bookworm).
 * The first whose binary exists for this platform and Node ABI *and* loads (the dynamic linker
 * refuses a binary that needs a newer glibc) wins. Their own loaders are bypassed: the 20.30 one
 * silently falls back to a pure-JS imitation that cannot do upgrade handlers. When none loads,
 * one error names the combination and why each build did not fit.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';

export type * from 'uWebSockets.js';
import type * as UWS from 'uWebSockets.js';

export class UwsLoadError extends Error {
  override name = 'UwsLoadError';
}

export interface UwsBuild {
  /** The npm package as installed (its directory in node_modules). */
  module: string;
  /** What it is, for messages: `@btc-vision/uwebsockets.js 20.57.0`. */
  label: string;
  /** The binaries' folder inside the package. */
  binaries: string;
  /** What it covers, for the error that lists what would fit. */
  covers: string;
}

export const UWS_BUILDS: readonly UwsBuild[] = [
  { module: '@btc-vision/uwebsockets.js', label: '@btc-vision/uwebsockets.js 20.57.0', binaries: '.', covers: 'Node 20, 22, 24, 25 on linux x64/arm64 with glibc >= 2.38' },
  { module: 'uWebSockets.js', label: '@trufflesuite/uws-js-unofficial 20.30.0', binaries: 'binaries', covers: 'Node 16, 18, 20 on linux x64/arm64/armv7 with glibc >= 2.27' },
];

const require = createRequire(import.meta.url);

export function binaryName(platform = process.platform, arch = process.arch, abi = process.versions.modules): string {
  return `uws_${platform}_${arch}_${abi}.node`;
}

/** The folder holding a build's binaries, or undefined when the package is not installed. */
export function buildDir(build: UwsBuild): string | undefined {
  // Not require.resolve('<module>/package.json'): the 20.57 package's "exports" hides it.
  for (const nodeModules of require.resolve.paths(build.module) ?? []) {
    const dir = join(nodeModules, build.module);
    if (existsSync(join(dir, 'package.json'))) return join(dir, build.binaries);
  }
  return undefined;
}

/** `linux/x64, Node 24.11.0 (ABI 137), glibc 2.36`: the combination a binary must fit. */
export function runtimeDescription(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const libc = header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : process.platform === 'linux' ? 'no glibc (musl?)' : process.platform;
  return `${process.platform}/${process.arch}, Node ${process.versions.node} (ABI ${process.versions.modules}), ${libc}`;
}

export interface LoadedUws {
  lib: typeof UWS;
  build: UwsBuild;
  file: string;
}

/**
 * Loads the first build that fits (see the header) or throws UwsLoadError with every reason.
 * `dirs` overrides where each build's binaries are looked for (tests).
 */
export function loadUwsBuild(builds: readonly UwsBuild[] = UWS_BUILDS, dirs: (build: UwsBuild) => string | undefined = buildDir): LoadedUws {
  const reasons: string[] = [];
  for (const build of builds) {
    const dir = dirs(build);
    if (dir === undefined) {
      reasons.push(`${build.label}: not installed (run \`npm ci --omit=dev\` in the gateway's directory)`);
      continue;
    }
    const file = join(dir, binaryName());
    if (!existsSync(file)) {
      const shipped = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.startsWith(`uws_${process.platform}_`) && f.endsWith('.node'))
            .map((f) => f.replace(/^uws_|\.node$/g, ''))
            .join(', ')
        : '';
      reasons.push(`${build.label}: no binary ${binaryName()} (ships ${shipped || 'none for this platform'})`);
      continue;
    }
    try {
      return { lib: require(file) as typeof UWS, build, file };
    } catch (err) {
      reasons.push(`${build.label}: ${file} did not load: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new UwsLoadError(
    `no uWebSockets.js build runs on ${runtimeDescription()}:\n${reasons.map((r) => `  ${r}`).join('\n')}\n` +
      `Supported: ${builds.map((b) => `${b.covers} (${b.label})`).join('; or ')}. ` +
      `Install a Node.js that fits this system (README "Supported platforms"), then reinstall.`,
  );
}

/** Loads a native binary from one folder (any build's layout) or throws UwsLoadError. */
export function loadUws(binaryDir?: string): typeof UWS {
  if (binaryDir === undefined) return loadUwsBuild().lib;
  const build: UwsBuild = { module: binaryDir, label: `uWebSockets.js in ${binaryDir}`, binaries: '.', covers: `a binary ${binaryName()} in ${binaryDir}` };
  return loadUwsBuild([build], () => binaryDir).lib;
}

let cached: LoadedUws | undefined;

/** The process-wide native module. */
export function uws(): typeof UWS {
  cached ??= loadUwsBuild();
  return cached.lib;
}

/** Which build the process runs on (loads it if needed): for the startup log and `mgw status`. */
export function uwsBuild(): LoadedUws {
  uws();
  return cached!;
}
