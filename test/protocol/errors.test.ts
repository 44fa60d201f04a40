/**
 * One error table: every code has an HTTP status and a CLI exit status, README lists both, and
 * the CLI exits with the table's status when a real HTTP server answers with the code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, exitForCode, type ErrorCode } from '../../src/protocol/errors.js';
import { api } from '../../src/cli/api.js';
import { CliError, EXIT } from '../../src/cli/exit.js';

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const SYSEXITS = new Set<number>(Object.values(EXIT));

describe('the error table', () => {
  it.each(CODES)('%s has an HTTP error status and a sysexits exit status', (code) => {
    const e = ERROR_CODES[code];
    expect(e.status).toBeGreaterThanOrEqual(400);
    expect(e.status).toBeLessThan(600);
    expect(SYSEXITS.has(e.exit), `exit ${e.exit}`).toBe(true);
    expect(e.exit).not.toBe(EXIT.ok);
    expect(e.about.length).toBeGreaterThan(10);
  });

  it('README lists every code with its status and exit status', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of CODES) {
      const { status, exit } = ERROR_CODES[code];
      expect(readme, code).toContain(`| \`${code}\` | ${status} | ${exit} |`);
    }
  });

  it('a code outside the table is a bug: exit 70', () => {
    expect(exitForCode('http_418')).toBe(EXIT.software);
    expect(exitForCode('toString')).toBe(EXIT.software);
  });
});

describe('mgw exits with the table status for each code a gateway answers', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Answers GET /<code> with that code's status and body, as the gateway does.
    server = createServer((req, res) => {
      const code = (req.url ?? '/').slice(1) as ErrorCode;
      res.writeHead(ERROR_CODES[code].status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error_code: code, message: `answered ${code}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(CODES)('%s', async (code) => {
    const err = await api({ url }, 'GET', code).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe(`${code}: answered ${code}`);
    expect((err as CliError).exitCode).toBe(ERROR_CODES[code].exit);
  });
});
