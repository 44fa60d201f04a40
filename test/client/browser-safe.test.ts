/**
 * The HMI bundles src/client for the browser: it must import nothing but its own files and use
 * no Node globals.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../src/client/', import.meta.url));

it('src/client imports only its own modules and uses no Node globals', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  expect(files).toContain('index.ts');
  let imports = 0;
  for (const f of files) {
    const code = readFileSync(dir + f, 'utf8');
    const specifiers = [...code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)].map((m) => m[1]!);
    imports += specifiers.length;
    for (const s of specifiers) expect(s, `${f} imports ${s}`).toMatch(/^\.\/[a-z-]+\.js$/);
    const body = code.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(body, `${f} uses a Node global`).not.toMatch(/\b(?:process|Buffer|require|__dirname|setImmediate)\b/);
  }
  expect(imports).toBeGreaterThan(5); // the pattern does find them
});
