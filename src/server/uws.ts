/**
 * Loads the native uWebSockets.js binary, and only that.
 *
 * The npm republish we install (`@trufflesuite/uws-js-unofficial`, aliased as uWebSockets.js)
 * silently falls back to a pure-JS imitation when its binary does not load or when
 * UWS_USE_FALLBACK is set. That imitation cannot do upgrade handlers and is far slower, so we
 * bypass its loader and require the binary for this platform and Node ABI directly.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';

export type * from 'uWebSockets.js';
import type * as UWS from 'uWebSockets.js';

export class UwsLoadError extends Error {
  override name = 'UwsLoadError';
}

const require = createRequire(import.meta.url);

export function binaryName(platform = process.platform, arch = process.arch, abi = process.versions.modules): string {
  return `uws_${platform}_${arch}_${abi}.node`;
}

export function packageBinaryDir(): string {
  return join(dirname(require.resolve('uWebSockets.js/package.json')), 'binaries');
}

/** Loads the native binary from `binaryDir` (the package's own by default) or throws UwsLoadError. */
export function loadUws(binaryDir: string = packageBinaryDir()): typeof UWS {
  const file = join(binaryDir, binaryName());
  const where = `${process.platform}/${process.arch}, Node ${process.versions.node} (ABI ${process.versions.modules})`;
  if (!existsSync(file)) {
    const available = existsSync(binaryDir)
      ? readdirSync(binaryDir)
          .filter((f) => f.endsWith('.node'))
          .map((f) => f.replace(/^uws_|\.node$/g, ''))
          .join(', ')
      : 'none';
    throw new UwsLoadError(
      `uWebSockets.js has no native binary for ${where}: ${file} is missing. ` +
        `Binaries shipped: ${available || 'none'}. ` +
        `Run the gateway on Node.js 20 (ABI 115) on linux x64, arm64 or armv7, then reinstall with \`npm ci\`.`,
    );
  }
  try {
    return require(file) as typeof UWS;
  } catch (err) {
    throw new UwsLoadError(
      `uWebSockets.js native binary ${file} did not load on ${where}: ${(err as Error).message}. ` +
        `It needs glibc >= 2.27; check \`ldd --version\`, and reinstall with \`npm ci\`.`,
    );
  }
}

let cached: typeof UWS | undefined;

/** The process-wide native module. */
export function uws(): typeof UWS {
  cached ??= loadUws();
  return cached;
}
