/**
 * Fixtures for the HMI tests: Debian's chromium driven by playwright-core, and the page built
 * from the current sources.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

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

/** Collects what the page reports as errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}
