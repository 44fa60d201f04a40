/**
 * A POST that acts on the plant (a control write, an alarm action, a commissioning request): the
 * role checked, JSON framing required (one Content-Length: a form post from another site cannot
 * act), the token's write rate taken, the body read within server.max_body_bytes, and every error
 * answered with its code. Everything from req is read before the first await: req lives on the
 * stack of the uWS callback.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { Permission, Principal } from './auth.js';
import type { ServerContext } from './context.js';
import { jsonBodyHeaders, pathParam, readBody, sendError, startReply, type Reply } from './http.js';

export interface PostRequest {
  who: Principal;
  reply: Reply;
  /** The first path parameter (`:id`, `:bus`), decoded; '' for a route without one. */
  param: string;
  /** The raw body, at most server.max_body_bytes. */
  body: Buffer;
}

export interface PostRouteOptions {
  permission: Permission;
  /** What the 403 names when the role is short ("Modbus commissioning through the gateway"). */
  what?: string;
  /** Counts against the token's write rate (limits.rest_writes_per_s); default true. */
  rateLimited?: boolean;
  /** Logs an error that has no code of its own (the client gets internal_error). */
  onInternal: (err: unknown) => void;
}

export function postRoute(app: TemplatedApp, ctx: ServerContext, path: string, options: PostRouteOptions, handle: (r: PostRequest) => Promise<void>): void {
  app.post(path, (res, req) => {
    const reply = startReply(res);
    const who = ctx.security.rest(req, reply, options.permission, options.what);
    if (who === undefined) return;
    const param = pathParam(req);
    const framing = jsonBodyHeaders(req);
    if (framing instanceof GatewayError) {
      sendError(reply, framing);
      return;
    }
    void (async () => {
      try {
        if (options.rateLimited !== false) ctx.security.takeWrite(who, reply.remote);
        const body = await readBody(res, ctx.config.max_body_bytes, framing.contentLength);
        await handle({ who, reply, param, body });
      } catch (err) {
        sendError(reply, err, options.onInternal);
      }
    })();
  });
}
