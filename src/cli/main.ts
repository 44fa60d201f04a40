#!/usr/bin/env node
/**
 * `mgw`: the gateway daemon and the technician's tool in one command.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { UwsLoadError } from '../server/uws.js';
import { CliError, EXIT, EXIT_HELP } from './exit.js';
import { jsonErrorLine, wantsJson } from './json-errors.js';
import { defaultUrl } from './paths.js';
import { registerServe } from './commands/serve.js';
import { registerDeviceCommands } from './commands/devices.js';
import { registerConfigCommands } from './commands/config.js';
import { registerWatch } from './commands/watch.js';
import { registerStatus } from './commands/status.js';
import { registerReload } from './commands/reload.js';
import { registerTechnicianCommands } from './commands/technician.js';
import { registerTokenCommands } from './commands/token.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerSimulateCommands } from './commands/simulate.js';

export interface GlobalOptions {
  url: string;
  json: boolean;
  token?: string | undefined;
}

export function buildProgram(): Command {
  const program = new Command('mgw');
  program
    .description('machine-gateway: Modbus and serial devices on a live REST + WebSocket API')
    .version(process.env['npm_package_version'] ?? '0.1.0', '-V, --version')
    .option('--url <url>', 'gateway address (env MGW_URL)', defaultUrl())
    .option('--token <token>', 'API token (env MGW_TOKEN)', process.env['MGW_TOKEN'])
    .option('--json', 'machine-readable JSON output', false)
    .addHelpText('after', `\n${EXIT_HELP}`)
    .showHelpAfterError('(run `mgw --help` for usage)')
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerServe(program);
  registerDeviceCommands(program, globals);
  registerWatch(program, globals);
  registerStatus(program, globals);
  registerReload(program, globals);
  registerConfigCommands(program, globals);
  registerTechnicianCommands(program, globals);
  registerTokenCommands(program, globals);
  registerAuditCommand(program, globals);
  registerSimulateCommands(program, globals);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    return report(err, wantsJson(argv));
  }
}

function report(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    return EXIT.usage; // commander already printed the reason
  }
  if (err instanceof ConfigError) {
    process.stderr.write(json ? jsonErrorLine({ error: err.message, exit_code: EXIT.config, file: err.file, problems: err.problems }) : `${err.message}\n`);
    return EXIT.config;
  }
  if (err instanceof CliError) {
    process.stderr.write(json ? jsonErrorLine({ error: err.message, exit_code: err.exitCode }) : `mgw: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof UwsLoadError) {
    process.stderr.write(`mgw: ${err.message}\n`);
    return EXIT.software;
  }
  process.stderr.write(`mgw: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.software;
}

// Run when executed directly (the bin), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:main\.[cm]?[jt]s|mgw)$/.test(invoked)) {
  main(process.argv).then(
    (code) => {
      // serve keeps running on its own handles; everything else exits with its status.
      if (code !== EXIT.ok || !process.argv.slice(2).some((a) => a === 'serve' || a === 'watch')) process.exitCode = code;
      if (code !== EXIT.ok) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`mgw: ${String(err)}\n`);
      process.exit(EXIT.software);
    },
  );
}
