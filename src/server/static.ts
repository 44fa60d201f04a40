/**
 * Serves the built-in HMI page.
 *
 * Everything is read and hashed once at start-up; each file is gzipped once, by the first
 * request that accepts gzip (compressing the page at start-up took most of start to ready on a
 * busy Pi-class machine), and kept: later requests only pick a buffer.
 * The page's scripts and styles live under `/hmi/<content hash>/`, so they can be cached
 * forever (`immutable`): a new build changes the hash and `index.html`, which is always
 * revalidated (`no-cache` + ETag, a 304 on an unchanged page). `index.html` also lists every
 * module as `modulepreload`, so the browser fetches them all in one round trip instead of
 * walking the import graph.
 *
 * Sources: the HTML and CSS from src/hmi, the scripts compiled to dist/hmi by `npm run build`
 * (dist/hmi/hmi: the page, dist/hmi/client: the typed client it imports).
 * Only the files found at start-up are routed; any other path falls through to the JSON 404.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { statusLine } from './http.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
/** Below this size gzip saves less than the headers cost. */
const GZIP_MIN_BYTES = 512;
const COMPRESSIBLE = new Set(['.html', '.css', '.js', '.svg', '.json', '.webmanifest']);
const ASSET_PREFIX = '/hmi';

export interface StaticFile {
  path: string;
  type: string;
  body: Buffer;
  /** Worth compressing (a text type, not tiny). */
  compressible: boolean;
  /** The compressed bytes once a request asked for them; null when gzip saved too little. */
  gzip: Buffer | null | undefined;
  etag: string;
  cacheControl: string;
}

export interface StaticSiteOptions {
  log: Logger;
  /** Folder with index.html and style.css (default: src/hmi of this package). */
  pageDir?: string;
  /** Folder with the compiled scripts (default: dist/hmi of this package). */
  scriptDir?: string;
}

export class StaticSite {
  private readonly files = new Map<string, StaticFile>();
  private missing: string | undefined;

  constructor(private readonly options: StaticSiteOptions) {}

  /** Loads the files and routes them on the app (GET only). */
  register(app: TemplatedApp): void {
    this.load();
    const serve = (file: StaticFile) => (res: HttpResponse, req: HttpRequest) => {
      const ifNoneMatch = req.getHeader('if-none-match');
      const gzip = /\bgzip\b/.test(req.getHeader('accept-encoding')) ? gzipped(file) : undefined;
      res.cork(() => {
        if (ifNoneMatch !== '' && ifNoneMatch.split(',').some((t) => t.trim() === file.etag)) {
          res.writeStatus(statusLine(304)).writeHeader('ETag', file.etag).writeHeader('Cache-Control', file.cacheControl).end();
          return;
        }
        res.writeStatus(statusLine(200)).writeHeader('Content-Type', file.type).writeHeader('Cache-Control', file.cacheControl).writeHeader('ETag', file.etag);
        if (file.compressible) res.writeHeader('Vary', 'Accept-Encoding');
        res.writeHeader('X-Content-Type-Options', 'nosniff');
        if (file.type.startsWith('text/html')) {
          // The page loads only its own files and talks only to this gateway.
          res.writeHeader('Content-Security-Policy', "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'");
          res.writeHeader('Referrer-Policy', 'no-referrer');
        }
        if (gzip !== undefined) res.writeHeader('Content-Encoding', 'gzip').end(gzip);
        else res.end(file.body);
      });
    };
    if (this.missing !== undefined) {
      const why = this.missing;
      app.get('/', (res) => {
        res.cork(() => {
          res.writeStatus(statusLine(503)).writeHeader('Content-Type', 'text/plain; charset=utf-8').writeHeader('Cache-Control', 'no-store').end(why);
        });
      });
      return;
    }
    for (const file of this.files.values()) app.get(file.path, serve(file));
    app.get('/', serve(this.files.get('/index.html')!));
  }

  /** The routed files by path (for tests and metrics). */
  list(): StaticFile[] {
    return [...this.files.values()];
  }

  private load(): void {
    const root = packageRoot();
    const pageDir = this.options.pageDir ?? join(root ?? '.', 'src', 'hmi');
    const scriptDir = this.options.scriptDir ?? join(root ?? '.', 'dist', 'hmi');
    const main = join(scriptDir, 'hmi', 'main.js');
    if (!existsSync(main) || !existsSync(join(pageDir, 'index.html'))) {
      this.missing = `The HMI page is not built (${main} or ${join(pageDir, 'index.html')} is missing). Run \`npm run build\` and restart the gateway.\n`;
      this.options.log.warn({ scriptDir }, 'HMI page not built: / answers 503 until `npm run build` is run');
      return;
    }
    const assets: { rel: string; body: Buffer }[] = [];
    for (const file of walk(scriptDir)) {
      if (extname(file) !== '.js') continue;
      assets.push({ rel: relative(scriptDir, file).split(sep).join('/'), body: readFileSync(file) });
    }
    for (const name of readdirSync(pageDir)) {
      const ext = extname(name);
      if (ext === '.ts' || ext === '.json' || name === 'index.html' || !(ext in CONTENT_TYPES)) continue;
      assets.push({ rel: name, body: readFileSync(join(pageDir, name)) });
    }
    assets.sort((a, b) => (a.rel < b.rel ? -1 : 1));
    // One hash over every asset: the folder name changes whenever any of them does.
    const build = createHash('sha256');
    for (const a of assets) build.update(a.rel).update('\0').update(a.body).update('\0');
    const base = `${ASSET_PREFIX}/${build.digest('hex').slice(0, 12)}`;
    for (const a of assets) this.add(`${base}/${a.rel}`, a.body, 'public, max-age=31536000, immutable');

    const preload = assets
      .filter((a) => a.rel.endsWith('.js'))
      .map((a) => `<link rel="modulepreload" href="${base}/${a.rel}">`)
      .join('\n    ');
    const html = readFileSync(join(pageDir, 'index.html'), 'utf8').replaceAll('%ASSETS%', base).replace('<!--%PRELOAD%-->', preload);
    this.add('/index.html', Buffer.from(html), 'no-cache');
    this.options.log.debug({ files: this.files.size, base }, 'HMI page loaded');
  }

  private add(path: string, body: Buffer, cacheControl: string): void {
    const ext = extname(path);
    const compressible = COMPRESSIBLE.has(ext) && body.length >= GZIP_MIN_BYTES;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    this.files.set(path, { path, type: CONTENT_TYPES[ext] ?? 'application/octet-stream', body, compressible, gzip: undefined, etag, cacheControl });
  }
}

/** The file's gzip bytes, compressed on first use; undefined when it is not worth it. */
function gzipped(file: StaticFile): Buffer | undefined {
  if (!file.compressible) return undefined;
  if (file.gzip === undefined) {
    const z = gzipSync(file.body, { level: 9 });
    file.gzip = z.length < file.body.length * 0.9 ? z : null;
  }
  return file.gzip ?? undefined;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

/** The folder holding this package's package.json, from src/server or dist/src/server. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'hmi'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
