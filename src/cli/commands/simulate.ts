/**
 * `mgw simulate line`: a simulated line-protocol device behind a PTY, so technicians can try the
 * line driver (and a config) without hardware. By default it starts socat to make a PTY pair:
 * the gateway opens --link, the simulated device sits on the other end.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { SerialPort } from 'serialport';
import { ReadlineParser } from '@serialport/parser-readline';
import { CliError, EXIT } from '../exit.js';
import type { GlobalOptions } from '../options.js';
import { SimulatedLineDevice, type SimulatedModel } from '../../../drivers/line/simulated.js';
import { DELIMITER_NAMES } from '../../../drivers/line/config.js';

interface SimulateFlags {
  link?: string;
  attach?: string;
  model: SimulatedModel;
  interval: string;
  delimiter: keyof typeof DELIMITER_NAMES;
  verbose: boolean;
}

export function registerSimulateCommands(program: Command, globals: () => GlobalOptions): void {
  const simulate = program.command('simulate').description('run simulated field devices for trying the gateway without hardware');
  simulate
    .command('line')
    .description('a simulated line-protocol device (motor or sensor) on a PTY; see config/examples/line-*.yaml')
    .option('--link <path>', 'make a PTY pair with socat; the gateway opens this path (port.path), the device the other end')
    .option('--attach <device>', 'instead of socat, run the device on this existing serial port (e.g. a null-modem cable)')
    .addOption(new Option('--model <model>', 'which device to simulate').choices(['motor', 'sensor']).default('motor'))
    .option('--interval <ms>', 'physics step; the sensor streams one line per step (ms)', '1000')
    .addOption(new Option('--delimiter <name>', 'line end').choices(Object.keys(DELIMITER_NAMES)).default('lf'))
    .option('--verbose', 'print every line received and sent', false)
    .addHelpText(
      'after',
      `
Motor commands: SPEED?  SPEED=<0-3000>  RUN?  RUN=<0|1>  STATUS?  (answers like SPEED=1200, OK SPEED=1500, RUN=1;ACT=1199.5;I=8.12;T=35.20)
Sensor: streams T=<degC>;H=<%RH> every --interval ms; READ? asks for one.

Example:
  mgw simulate line --link /tmp/mgw-line-motor &
  mgw serve --config config/examples/line-motor.yaml`,
    )
    .action(async (flags: SimulateFlags) => {
      await runSimulatedLine(flags, globals().json);
    });
}

async function runSimulatedLine(flags: SimulateFlags, json: boolean): Promise<void> {
  if ((flags.link === undefined) === (flags.attach === undefined)) {
    throw new CliError('give either --link PATH (make a PTY pair with socat) or --attach PORT (use an existing port)', EXIT.usage);
  }
  const interval = Number(flags.interval);
  if (!Number.isInteger(interval) || interval < 10 || interval > 3_600_000) {
    throw new CliError(`--interval must be a whole number of milliseconds from 10 to 3600000, got "${flags.interval}"`, EXIT.usage);
  }
  let socat: ChildProcess | undefined;
  let devicePath = flags.attach!;
  if (flags.link !== undefined) {
    if (!hasCommand('socat')) throw new CliError('socat is not installed (apt-get install socat); or use --attach PORT', EXIT.unavailable);
    if (existsSync(flags.link)) throw new CliError(`${flags.link} already exists; pick another --link path or remove it`, EXIT.usage);
    devicePath = `${flags.link}.device`;
    socat = await startSocat(flags.link, devicePath);
  }
  const stopSocat = () => {
    if (socat?.exitCode === null && socat.signalCode === null) socat.kill('SIGTERM');
  };
  const device = new SimulatedLineDevice({ model: flags.model });
  const port = new SerialPort({ path: devicePath, baudRate: 9600, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    stopSocat();
    throw new CliError(`cannot open ${devicePath}: ${(err as Error).message}`, EXIT.unavailable);
  }
  const eol = DELIMITER_NAMES[flags.delimiter];
  const send = (line: string) => {
    if (flags.verbose) process.stdout.write(`> ${line}\n`);
    port.write(line + eol);
  };
  const parser = port.pipe(new ReadlineParser({ delimiter: eol, encoding: 'latin1' }));
  parser.on('data', (line: string) => {
    if (flags.verbose) process.stdout.write(`< ${line}\n`);
    const reply = device.answer(line);
    if (reply !== undefined) send(reply);
  });
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const line = device.step((now - last) / 1000, now / 1000);
    last = now;
    if (line !== undefined) send(line);
  }, interval);

  // With --attach the gateway sits on the far end of the cable, a path only the technician knows.
  const gatewayPath = flags.link ?? null;
  if (json) process.stdout.write(`${JSON.stringify({ model: flags.model, port: gatewayPath, device_end: devicePath })}\n`);
  else if (gatewayPath !== null) process.stdout.write(`simulated ${flags.model} ready; set port.path: ${gatewayPath} in the gateway config (Ctrl-C stops)\n`);
  else process.stdout.write(`simulated ${flags.model} ready on ${devicePath}; point the gateway at the other end of the line (Ctrl-C stops)\n`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // The PTY pair went away under us (socat killed): nothing left to simulate.
    port.once('close', stop);
    socat?.once('exit', stop);
  });
  clearInterval(timer);
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  stopSocat();
}

/** Starts socat with two PTY links and waits until both exist. */
async function startSocat(link: string, deviceEnd: string): Promise<ChildProcess> {
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${link}`, `pty,raw,echo=0,link=${deviceEnd}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 5000;
  while (!(existsSync(link) && existsSync(deviceEnd))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGTERM');
      throw new CliError(`socat could not make the PTY pair at ${link}: ${stderr.trim().split('\n').pop() ?? 'no output'}`, EXIT.unavailable);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
