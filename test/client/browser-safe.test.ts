/**
 * The HMI bundles src/client and src/protocol for the browser: they must import nothing but
 * their own files (the client also the protocol module) and use no Node globals.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

for (const [folder, allowed] of [
  ['client', /^(?:\.\/|\.\.\/protocol\/)[a-z-]+\.js$/],
  ['protocol', /^\.\/[a-z-]+\.js$/],
] as const) {
  const dir = fileURLToPath(new URL(`../../src/${folder}/`, import.meta.url));

  it(`src/${folder} imports only its own modules (and the protocol's) and uses no Node globals`, () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(1);
    let imports = 0;
    for (const f of files) {
      const code = readFileSync(dir + f, 'utf8');
      const specifiers = [...code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)].map((m) => m[1]!);
      imports += specifiers.length;
      for (const s of specifiers) expect(s, `${f} imports ${s}`).toMatch(allowed);
      const body = code.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(body, `${f} uses a Node global`).not.toMatch(/\b(?:process|Buffer|require|__dirname|setImmediate)\b/);
    }
    expect(imports).toBeGreaterThan(0); // the pattern does find them
  });
}
