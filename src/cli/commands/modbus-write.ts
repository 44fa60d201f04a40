/** `mgw modbus write`: typed values to holding registers or coils, then read back (or FC23: both in one transaction). */
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { print } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { describeRegister } from './modbus-address.js';
import { addBlockOptions, parseBlock, readJson, rowsTable, sameValue, typeText, type BlockFlags } from './modbus-block.js';
import { parseValue } from './modbus-codec.js';
import { connect } from './modbus-connect.js';
import { checkBlock, readBlock, registerRows, writeBlock } from './modbus-io.js';
import type { WriteFunction } from './modbus-link.js';
import { addLinkOptions, parseTarget } from './modbus-options.js';

export function registerModbusWrite(modbus: Command, globals: () => GlobalOptions): void {
  const write = modbus
    .command('write')
    .description('write values to holding registers or coils, then read them back')
    .argument('<values...>', 'values of --type, e.g. 1500, 21.5, 0x00FF, true, "PUMP 3"; put -- before negative values: -- -3')
    .option('-u, --unit <id>', 'unit id (slave address) 1-247', '1');
  addBlockOptions(addLinkOptions(write, { timeoutMs: 300, tries: 3 }))
    .option('--multiple', 'use "write multiple" (function 15/16) even for one value; some devices only implement those', false)
    .option('--fc23', 'write and read back in one transaction (function 23, read/write multiple registers; holding registers only)', false)
    .option('--no-verify', 'do not read the values back after writing')
    .action(async (values: string[], f: BlockFlags & { multiple: boolean; fc23: boolean; verify: boolean }) => {
      const g = globals();
      const target = parseTarget(f);
      const block = parseBlock(f, target, values.length);
      if (block.ref.table === 'input' || block.ref.table === 'discrete') {
        throw new CliError(`${describeRegister(block.ref)} is read-only: Modbus writes only holding registers (4xxxx) and coils (0xxxx)`, EXIT.usage);
      }
      if (f.fc23 && block.ref.table !== 'holding') throw new CliError('--fc23: function 23 writes and reads holding registers only, not coils', EXIT.usage);
      if (f.fc23 && f.multiple) throw new CliError('--fc23 and --multiple are two different functions: give one', EXIT.usage);
      checkBlock(block);
      const parsed = values.map((v) => parseValue(v, block.type, block.layout));
      const fn: WriteFunction = f.fc23 ? 'read_write' : f.multiple ? 'multiple' : 'single';
      const conn = await connect(target, g);
      try {
        const outcome = await writeBlock(conn, { ...block, values: parsed, function: fn });
        const back = outcome.readBack !== undefined ? registerRows(block, outcome.readBack) : f.verify ? await readBlock(conn, block) : undefined;
        const mismatch = back?.some((r, i) => !sameValue(r.value, parsed[i]!, block.type)) ?? false;
        if (g.json) {
          print(JSON.stringify({ ...readJson(block, conn.label, back ?? []), written: parsed, function_code: outcome.functionCode, verified: back !== undefined && !mismatch }));
        } else {
          const shown = block.type === 'string' ? parsed.map((v) => JSON.stringify(v)) : parsed;
          print(`wrote ${shown.join(', ')} (${typeText(block)}) to ${describeRegister(block.ref)} on unit ${block.unit} at ${conn.label} with function ${outcome.functionCode}`);
          if (back) print(`read back${outcome.readBack !== undefined ? ' in the same transaction' : ''}:\n${rowsTable(block, back)}`);
        }
        if (mismatch) process.stderr.write(`mgw: warning: the unit kept other values than written (clamped, scaled, or a write-only register?)\n`);
      } finally {
        await conn.stop();
      }
    });
}
