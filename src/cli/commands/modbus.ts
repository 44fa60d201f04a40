/**
 * `mgw modbus read|write|info|scan`: commissioning a bus, on the CLI's own connection or through
 * the running gateway that holds the line (modbus-connect.ts says how the choice is made).
 */
import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { registerModbusInfo } from './modbus-info.js';
import { registerModbusRead } from './modbus-read.js';
import { registerModbusScan } from './modbus-scan.js';
import { registerModbusWrite } from './modbus-write.js';

export function registerModbusCommands(program: Command, globals: () => GlobalOptions): void {
  const modbus = program
    .command('modbus')
    .description('talk to Modbus units: read, write, scan, info (directly, or through the running gateway)')
    .addHelpText(
      'after',
      `
Register numbers: 0-based addresses (0, 17, 0x11) or the data-sheet numbering where the first
digit names the table: 40001 = holding register at 0-based address 0, 30001 = input register,
10001 = discrete input, 00001 = coil (6-digit 400001 also works). Output shows both.

The running gateway: when the gateway at --url holds the line given by --port or --host, the
requests go through it (token with role admin; its bus runs them between its polls, and writes
are in its audit trail). --bus <id> names a bus of the gateway; --direct opens the line
yourself (stop the gateway first on a serial line: only one program can own it).

Exit status: 0 ok, 64 bad arguments, 69 port or host not reachable, 75 no answer from the
unit (after --tries), 76 the unit answered with a Modbus exception, 77 no permission on the
port or token role too low.`,
    );
  registerModbusRead(modbus, globals);
  registerModbusWrite(modbus, globals);
  registerModbusInfo(modbus, globals);
  registerModbusScan(modbus, globals);
}
