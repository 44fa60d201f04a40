/**
 * Renders src/hmi/icon.svg to the PNG icons of the web app manifest (192 and 512 px) with the
 * same chromium the HMI tests use. Run after changing the SVG, and commit the PNGs:
 *
 *   npx tsx test/e2e/make-icons.ts
 *
 * test/e2e/hmi-panel.test.ts checks that the committed PNGs still look like the SVG.
 */
import { readFileSync } from 'node:fs';
import { launch } from './browser.js';

export const ICON_SIZES = [192, 512] as const;

export async function renderIcons(): Promise<void> {
  const svg = readFileSync('src/hmi/icon.svg', 'utf8');
  const browser = await launch();
  try {
    for (const size of ICON_SIZES) {
      const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
      const sized = svg.replace('<svg ', `<svg width="${size}" height="${size}" `);
      await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${sized}</body></html>`);
      await page.locator('svg').screenshot({ path: `src/hmi/icon-${size}.png`, omitBackground: true });
      await page.close();
    }
  } finally {
    await browser.close();
  }
}

if (process.argv[1]?.endsWith('make-icons.ts')) await renderIcons();
