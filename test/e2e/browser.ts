/**
 * Fixtures for the HMI tests: Debian's chromium driven by playwright-core, and the page built
 * from the current sources.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

export const CHROMIUM = '/usr/bin/chromium';
export const OUTPUT_DIR = join(process.cwd(), 'test-output');

/**
 * Compiles src/hmi to dist/hmi (incremental: fast when nothing changed), so the test sees the
 * current page. Test files run in parallel: the lock keeps one from reading the page while
 * another is writing it.
 */
export function buildPage(): void {
  execFileSync('flock', [join(tmpdir(), 'mgw-hmi-build.lock'), process.execPath, 'node_modules/typescript/bin/tsc', '-p', 'src/hmi/tsconfig.json'], {
    stdio: 'inherit',
  });
}

/**
 * Headless chromium. playwright gives every launch a fresh temporary profile
 * (--user-data-dir) and removes it on close.
 */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function outputPath(name: string): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return join(OUTPUT_DIR, name);
}

/** Text of a point's value on a device card. */
export function pointValue(page: Page, device: string, point: string): Promise<string> {
  return page.locator(`[data-device="${device}"] [data-point="${point}"] .num`).innerText();
}

/**
 * The errors that are the page's own: without the browser's network messages ("WebSocket
 * connection to ... failed", "Failed to load resource"), which a test that stops or restarts
 * the gateway on purpose causes and no page code can prevent.
 */
export function pageOwnErrors(errors: string[]): string[] {
  return errors.filter((e) => !/Failed to load resource|ERR_CONNECTION|WebSocket connection/.test(e));
}

/** Collects what the page reports as errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** What a browser test file shares: one Chromium, contexts and gateways closed after each test. */
export interface BrowserSuite {
  /** A gateway (log level warn) on port 0 with `defaults` under `input`, stopped after the test. */
  gateway(input?: Parameters<typeof startGateway>[0]): Promise<RunningGateway>;
  /** A fresh browser context (1024x600 unless `options` say otherwise), closed after the test. */
  context(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** A page in `ctx` (a new context by default) at `url`, with its errors collected. */
  open(url: string, options?: BrowserContextOptions, ctx?: BrowserContext): Promise<{ page: Page; errors: string[]; ctx: BrowserContext }>;
  /** Runs after the test, before the gateways stop (newest first). */
  cleanup(fn: () => Promise<unknown> | void): void;
}

/** Registers the hooks of a browser test file (call it inside the describe) and returns its fixtures. */
export function browserSuite(defaults: Parameters<typeof startGateway>[0] = {}): BrowserSuite {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const cleanups: (() => Promise<unknown> | void)[] = [];
  beforeAll(async () => {
    buildPage();
    browser = await launch();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await browser?.close();
  });
  const context = async (options: BrowserContextOptions = {}): Promise<BrowserContext> => {
    if (browser === undefined) throw new Error('the browser is not launched yet');
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 600 }, ...options });
    contexts.push(ctx);
    return ctx;
  };
  return {
    async gateway(input = {}) {
      const gw = await startGateway({ log: { level: 'warn' }, ...defaults, ...input });
      cleanups.push(() => gw.stop().catch(() => undefined));
      return gw;
    },
    context,
    async open(url, options = {}, given) {
      const ctx = given ?? (await context(options));
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      await page.goto(url);
      return { page, errors, ctx };
    },
    cleanup(fn) {
      cleanups.push(fn);
    },
  };
}
