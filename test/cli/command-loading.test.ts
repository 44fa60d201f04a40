import { describe, expect, it } from 'vitest';
import { buildProgram, commandName } from '../../src/cli/main.js';

describe('mgw loads only the command it runs', () => {
  it('finds the command after the global options', () => {
    expect(commandName(['serve', '--port', '0'])).toBe('serve');
    expect(commandName(['--url', 'http://gw:8000', '--json', 'devices'])).toBe('devices');
    expect(commandName(['--token', 'serve', 'get', 'm1'])).toBe('get');
    expect(commandName(['--json'])).toBeUndefined();
  });

  it('registers one group for a known command, and every command for help or an unknown one', async () => {
    const names = async (args: string[]) => (await buildProgram(args)).commands.map((c) => c.name()).sort();
    expect(await names(['devices'])).toEqual(['devices', 'get', 'set']);
    expect(await names(['serve'])).toEqual(['serve']);
    const all = await names(['--help']);
    for (const n of ['serve', 'devices', 'watch', 'status', 'reload', 'config', 'modbus', 'ports', 'line', 'completion', 'token', 'audit', 'simulate', 'alarms']) {
      expect(all).toContain(n);
    }
    expect(await names(['bogus'])).toEqual(all);
    expect(await names(['completion', 'bash'])).toEqual(all);
  });
});
