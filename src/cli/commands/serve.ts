import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import type { GatewayConfig } from '../../config/schema.js';
import { createLogger } from '../../platform/logger.js';
import { Daemon } from '../../platform/daemon.js';
import { installHangTrigger } from '../../platform/watchdog.js';
import { uws } from '../../server/uws.js';
import { UnsafeConfigError } from '../../server/auth-guard.js';
import { CliError, EXIT } from '../exit.js';
import { defaultConfigPath } from '../paths.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the gateway: drivers, registry, REST + WebSocket API and HMI')
    .option('-c, --config <file>', 'configuration file', defaultConfigPath())
    .option('--host <address>', 'listen address (overrides server.host)')
    .option('--port <port>', 'listen port (overrides server.port)', parsePort)
    .action(async (opts: { config: string; host?: string; port?: number }) => {
      const overrides = (c: GatewayConfig) => {
        if (opts.host !== undefined) c.server.host = opts.host;
        if (opts.port !== undefined) c.server.port = opts.port;
      };
      const config = loadConfigFile(opts.config);
      overrides(config);
      uws(); // fail before anything starts when the native server cannot load
      const log = createLogger({ level: config.log.level });
      const daemon = new Daemon({ config, file: opts.config, overrides, log });
      installHangTrigger(log);

      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        const deadline = setTimeout(() => {
          log.error({ timeout_ms: config.server.shutdown_timeout_ms }, 'shutdown took too long; exiting anyway');
          process.exit(1);
        }, config.server.shutdown_timeout_ms);
        deadline.unref();
        daemon.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));

      try {
        await daemon.start();
      } catch (err) {
        log.fatal({ err }, 'gateway failed to start');
        await daemon.stop().catch(() => undefined);
        // An unsafe config is a config error (78: systemd does not restart); the rest may pass (69).
        throw new CliError(`cannot start: ${(err as Error).message}`, err instanceof UnsafeConfigError ? EXIT.config : EXIT.unavailable);
      }
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port must be a whole number from 0 to 65535, got ${JSON.stringify(value)}`, EXIT.usage);
  return n;
}
