/**
 * HTTP details a hostile or merely unusual client can trip over. A response to HEAD must not
 * carry a body (RFC 9110 9.3.2): uWS does not route HEAD to GET handlers, and the catch-all
 * routes answer with a JSON body, which a keep-alive client then reads as the start of the next
 * response. HEAD is therefore answered here, before any other route, with headers only.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { statusLine } from './http.js';

/** uWS prefers the more specific pattern over the method, so every `any` route gets its own HEAD. */
const PATTERNS = ['/api/v1/devices', '/api/v1/devices/:id', '/api/*', '/*'];

export function registerHeadGuard(app: TemplatedApp, patterns: readonly string[] = PATTERNS): void {
  for (const pattern of patterns) {
    app.head(pattern, (res) => {
      res.cork(() => {
        res.writeStatus(statusLine(405)).writeHeader('Allow', 'GET, POST').writeHeader('Cache-Control', 'no-store').endWithoutBody(0);
      });
    });
  }
}
