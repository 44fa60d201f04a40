/**
 * Routes about the caller and the configuration: `GET /api/v1/whoami` (any role) tells a client
 * which token and role it is using (and the HMI's time format); `GET /api/v1/tokens` (admin) lists the tokens with expiry
 * and last use (`mgw token list`); `GET /api/v1/config` (admin) shows the running config with
 * token hashes and the TLS passphrase removed.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { ServerContext } from './context.js';
import { sendJson, startReply } from './http.js';

export function registerAuthRoutes(app: TemplatedApp, ctx: ServerContext, configView: (() => unknown) | undefined): void {
  app.get('/api/v1/whoami', (res, req) => {
    const reply = startReply(res);
    const who = ctx.security.rest(req, reply, 'read');
    if (who === undefined) return;
    // time_format: how the HMI shows times of day (server.hmi_time_format); the page reads it here, at start.
    sendJson(reply, 200, { token: who.name, role: who.role, anonymous: who.anonymous, auth_required: ctx.security.enabled, remote: reply.remote, time_format: ctx.config.hmi_time_format });
  });

  app.get('/api/v1/tokens', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'admin') === undefined) return;
    sendJson(reply, 200, { tokens: ctx.security.tokenReport() });
  });

  app.get('/api/v1/config', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'admin') === undefined) return;
    sendJson(reply, 200, redactConfig(configView?.() ?? { server: ctx.config }));
  });
}

/** A copy of the config without secrets: token hashes and the key passphrase. */
export function redactConfig(config: unknown): unknown {
  return JSON.parse(JSON.stringify(config), (key, value: unknown) => (key === 'hash' || key === 'passphrase' ? '(hidden)' : value));
}
