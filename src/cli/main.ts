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

import type { GlobalOptions } from './options.js';

type Globals = () => GlobalOptions;
type Register = (program: Command, globals: Globals) => void;

/**
 * Each group of commands with the module that registers it. Only the group of the command
 * being run is imported: `mgw serve` must not pay for the serial and Modbus commissioning
 * tools, nor `mgw devices` for the daemon (start-up time is a product feature on a Pi).
 * Help, `completion` (built from the whole tree) and unknown commands load every group.
 */
const COMMAND_GROUPS: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).registerServe },
  { names: ['devices', 'get', 'set'], load: async () => (await import('./commands/devices.js')).registerDeviceCommands },
  { names: ['watch'], load: async () => (await import('./commands/watch.js')).registerWatch },
  { names: ['status'], load: async () => (await import('./commands/status.js')).registerStatus },
  { names: ['reload'], load: async () => (await import('./commands/reload.js')).registerReload },
  { names: ['config'], load: async () => (await import('./commands/config.js')).registerConfigCommands },
  {
    // `completion` is not listed: the scripts are generated from the whole command tree.
    names: ['ports', 'modbus', 'line', '__complete-devices'],
    load: async () => (await import('./commands/technician.js')).registerTechnicianCommands,
  },
  { names: ['token'], load: async () => (await import('./commands/token.js')).registerTokenCommands },
  { names: ['history'], load: async () => (await import('./commands/history.js')).registerHistory },
  { names: ['alarms'], load: async () => (await import('./commands/alarms.js')).registerAlarmCommands },
  { names: ['audit'], load: async () => (await import('./commands/audit.js')).registerAuditCommand },
  { names: ['simulate'], load: async () => (await import('./commands/simulate.js')).registerSimulateCommands },
];

/** Global options that take a value: their value is not the command name. */
const VALUE_OPTIONS = new Set(['--url', '--token']);

/** The command named on the line (after the global options), if any. */
export function commandName(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

export async function buildProgram(args: string[] = []): Promise<Command> {
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
  const name = commandName(args);
  const wanted = args.includes('--help') || args.includes('-h') ? undefined : COMMAND_GROUPS.find((g) => name !== undefined && g.names.includes(name));
  const groups = name === 'help' || wanted === undefined ? COMMAND_GROUPS : [wanted];
  const registers = await Promise.all(groups.map((g) => g.load()));
  for (const register of registers) register(program, globals);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv.slice(2));
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
  // `mgw --help | head`: a reader that goes away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
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
