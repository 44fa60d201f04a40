/** `mgw modbus info`: FC43/14 device identification (vendor, product code, revision). */
import type { Command } from 'commander';
import { print, table } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { connect } from './modbus-connect.js';
import { addLinkOptions, parseTarget, parseUnit, type RawLinkFlags } from './modbus-options.js';

export function registerModbusInfo(modbus: Command, globals: () => GlobalOptions): void {
  const info = modbus
    .command('info')
    .description('read the device identification of a unit (FC43/14): vendor, product code, revision')
    .option('-u, --unit <id>', 'unit id (slave address) 1-247', '1');
  addLinkOptions(info, { timeoutMs: 300, tries: 3 }).action(async (f: RawLinkFlags & { unit: string }) => {
    const g = globals();
    const target = parseTarget(f);
    const unit = parseUnit(f.unit, target);
    const conn = await connect(target, g);
    try {
      const objects = await conn.identify(unit, 'a device identification request (FC43/14)');
      const ident = { vendor: objects[0] ?? null, product_code: objects[1] ?? null, revision: objects[2] ?? null };
      if (g.json) print(JSON.stringify({ link: conn.label, unit, ...ident, objects }));
      else {
        print(`unit ${unit} on ${conn.label}:`);
        print(table(['OBJECT', 'VALUE'], [['vendor', ident.vendor ?? '-'], ['product code', ident.product_code ?? '-'], ['revision', ident.revision ?? '-']]));
      }
    } finally {
      await conn.stop();
    }
  });
}
