/**
 * POST /api/v1/admin/reload: the REST face of SIGHUP (`mgw reload`). It answers with what the
 * reload did, or 422 invalid_config with every problem when the new file was refused and the
 * gateway kept running on the previous config.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { GatewayError } from '../core/errors.js';
import type { ServerContext } from './context.js';
import { sendError, sendJson, startReply } from './http.js';
import type { Insight } from './metrics.js';
import { reloadRequester } from '../platform/audit.js';

export function registerAdmin(app: TemplatedApp, ctx: ServerContext, insight: Insight): void {
  app.post('/api/v1/admin/reload', (res, req) => {
    const reply = startReply(res);
    // Reloading changes what the gateway runs: role admin when tokens are configured.
    const who = ctx.security.rest(req, reply, 'admin');
    if (who === undefined) return;
    const pending = reloadRequester.run({ token: who.name, remote: reply.remote }, () => insight.reload());
    if (pending === undefined) {
      sendError(reply, new GatewayError('not_ready', 'reload is not available: this gateway was not started from a configuration file'));
      return;
    }
    pending.then(
      (outcome) => {
        if (outcome.ok) sendJson(reply, 200, outcome);
        else {
          const { problems } = outcome;
          const message = `${outcome.file} has errors; still running on the previous configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`;
          sendError(reply, new GatewayError('invalid_config', message, { details: { problems } }));
        }
      },
      (err: unknown) => sendError(reply, err, (e) => ctx.log.error({ err: e }, 'reload failed')),
    );
  });
}
