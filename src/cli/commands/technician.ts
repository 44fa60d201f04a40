/**
 * The field technician's commands that need no daemon (ports, modbus, line) and shell completion,
 * registered together so the program's composition stays one line.
 */
import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { registerPorts } from './ports.js';
import { registerModbusCommands } from './modbus.js';
import { registerLineCommands } from './line.js';
import { registerCompletion } from './completion.js';

export function registerTechnicianCommands(program: Command, globals: () => GlobalOptions): void {
  registerPorts(program, globals);
  registerModbusCommands(program, globals);
  registerLineCommands(program, globals);
  registerCompletion(program, globals);
}
