/**
 * The HTTP router's one door: every route the server registers goes through `countedApp`, which
 * counts the request before its handler runs, so `mgw_http_requests_total` counts every HTTP
 * request once, whatever the route: REST, /metrics and /healthz and /readyz (a scrape counts
 * itself), the HMI's files, HEAD, and the 404 and 405 answers. WebSocket upgrades are not
 * routed here: they count as connections (`mgw_ws_connections_total` and refusals).
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { ServerStats } from './context.js';

const ROUTE_METHODS = ['get', 'post', 'put', 'patch', 'del', 'options', 'head', 'connect', 'trace', 'any'] as const;
type Handler = (res: HttpResponse, req: HttpRequest) => void | Promise<void>;

/** The app as routes see it: the same app, with each route's handler counted. */
export function countedApp(app: TemplatedApp, stats: ServerStats): TemplatedApp {
  const methods = new Set<string | symbol>(ROUTE_METHODS);
  const proxy: TemplatedApp = new Proxy(app, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (!methods.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      const route = value as (pattern: string, handler: Handler) => TemplatedApp;
      return (pattern: string, handler: Handler) => {
        route.call(target, pattern, (res, req) => {
          stats.httpRequests++;
          return handler(res, req);
        });
        return proxy;
      };
    },
  });
  return proxy;
}
