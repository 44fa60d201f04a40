/**
 * `npx tsx test/bench/hmi-load.ts [--root DIR] [--config FILE] [--view table|cards] [--reps N]`
 *
 * The HMI page at plant size, in real Chromium against a real gateway (`mgw serve` from the
 * build under --root, so the same script measures an older checkout): HTTP requests on load and
 * after a forced reconnect (every connection cut by a relay, like a pulled cable) and after a
 * reconnect to a restarted gateway; time to first values; main-thread busy from Chrome's own
 * counters (CDP Performance.getMetrics TaskDuration) and long tasks (PerformanceObserver).
 * Prints medians of --reps runs as JSON. Numbers, not assertions: this is a benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CDPSession } from 'playwright-core';
import { launch } from '../e2e/browser.js';
import { Relay } from '../e2e/relay.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const ROOT = resolve(arg('--root', process.cwd()));
const CONFIG = resolve(arg('--config', 'config/examples/simulator-100.yaml'));
const VIEW = arg('--view', 'table');
const REPS = Number(arg('--reps', '3'));
/** A page is settled when no request started for this long (ms). */
const QUIET_MS = 2000;
/** Main-thread busy is summed over this long from the navigation (ms), then over as long again in steady state. */
const WINDOW_MS = 10_000;
/** "First values": this many devices show a value. */
const FIRST_VALUES = 10;
/** Values of a card ([data-device] .num) or of an overview row ([data-row] .ov-vals). */
const VALUE_SELECTOR = '[data-device] .num:not(:empty), [data-row] .ov-vals:not(:empty)';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startGateway(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mgw-hmi-load-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, readFileSync(CONFIG, 'utf8').replace(/^(\s*port:) \d+/m, `$1 ${port}`).replace(/^server:\n/m, `state_dir: ${dir}\nserver:\n`));
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'serve', '--config', file, '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 600) throw new Error('gateway did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, child };
}

async function stopGateway(g: { child: ChildProcess }): Promise<void> {
  const done = new Promise((r) => g.child.once('exit', r));
  g.child.kill('SIGTERM');
  await done;
}

/** Waits until no request started for QUIET_MS; returns the requests seen since `from`. */
async function settle(requests: { url: string; at: number }[], from: number): Promise<{ url: string; at: number }[]> {
  for (;;) {
    const last = requests.at(-1)?.at ?? 0;
    if (Date.now() - Math.max(last, from) >= QUIET_MS) return requests.filter((r) => r.at >= from);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function taskMs(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return { task: (m['TaskDuration'] ?? 0) * 1000, script: (m['ScriptDuration'] ?? 0) * 1000, layout: ((m['LayoutDuration'] ?? 0) + (m['RecalcStyleDuration'] ?? 0)) * 1000 };
}

function count(reqs: { url: string }[]) {
  const history = reqs.filter((r) => /\/api\/v1\/.*history/.test(r.url)).length;
  return { total: reqs.length, history };
}

async function once() {
  let gw = await startGateway();
  const relay = new Relay(gw.port);
  const port = await relay.start();
  const browser = await launch();
  try {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 600 } });
    await ctx.addInitScript((view) => {
      localStorage.setItem('mgw.hmi.view', JSON.stringify({ view }));
      const w = window as unknown as { __long: number[] };
      w.__long = [];
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.__long.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    }, VIEW);
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    const requests: { url: string; at: number }[] = [];
    page.on('request', (r) => requests.push({ url: r.url(), at: Date.now() }));
    const m0 = await taskMs(cdp);
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel as string).length >= (n as number), [VALUE_SELECTOR, FIRST_VALUES] as const, { polling: 'raf', timeout: 120_000 });
    const firstValuesMs = Date.now() - t0;
    const load = count(await settle(requests, t0));
    const rest = t0 + WINDOW_MS - Date.now();
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    const m1 = await taskMs(cdp);
    const long = await page.evaluate(() => (window as unknown as { __long: number[] }).__long.slice());
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const m2 = await taskMs(cdp);

    // A pulled cable: every connection dropped at once; the page resumes through the relay.
    const tCut = Date.now();
    relay.cut();
    await page.waitForFunction(() => document.querySelector('header.top')?.getAttribute('data-link') === 'reconnecting', undefined, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('header.top')?.getAttribute('data-link') === 'resynced', undefined, { timeout: 120_000 });
    const afterCut = count(await settle(requests, tCut));

    // A restarted gateway: a new instance, its in-memory history begun anew.
    const tRestart = Date.now();
    await stopGateway(gw);
    gw = await startGateway();
    relay.target = gw.port;
    relay.cut();
    await page.waitForFunction(() => document.querySelector('header.top')?.getAttribute('data-link') === 'resynced', undefined, { timeout: 120_000 });
    const afterRestart = count(await settle(requests, tRestart));
    return {
      requestsOnLoad: load,
      requestsAfterCut: afterCut,
      requestsAfterRestart: afterRestart,
      firstValuesMs,
      loadBusyMs: Math.round(m1.task - m0.task),
      loadScriptMs: Math.round(m1.script - m0.script),
      loadLayoutMs: Math.round(m1.layout - m0.layout),
      longTasks: long.length,
      longTasksMs: Math.round(long.reduce((a, b) => a + b, 0)),
      steadyBusyPct: +(((m2.task - m1.task) / WINDOW_MS) * 100).toFixed(1),
    };
  } finally {
    await browser.close();
    await relay.stop();
    await stopGateway(gw);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const runs = [];
for (let i = 0; i < REPS; i++) runs.push(await once());
const keys = ['firstValuesMs', 'loadBusyMs', 'loadScriptMs', 'loadLayoutMs', 'longTasks', 'longTasksMs', 'steadyBusyPct'] as const;
console.log(
  JSON.stringify(
    {
      root: ROOT,
      config: CONFIG,
      view: VIEW,
      reps: REPS,
      requestsOnLoad: runs.map((r) => r.requestsOnLoad),
      requestsAfterCut: runs.map((r) => r.requestsAfterCut),
      requestsAfterRestart: runs.map((r) => r.requestsAfterRestart),
      median: Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))])),
      range: Object.fromEntries(keys.map((k) => [k, [Math.min(...runs.map((r) => r[k])), Math.max(...runs.map((r) => r[k]))]])),
    },
    null,
    2,
  ),
);
