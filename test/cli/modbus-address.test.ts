/**
 * Register numbering and value codec of `mgw modbus` (pure functions, no bus).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeRegister, parseRegister } from '../../src/cli/commands/modbus-address.js';
import { decodeValue, encodeValue, parseValue, type Layout, type ValueType } from '../../src/cli/commands/modbus-codec.js';
import { CliError } from '../../src/cli/exit.js';

describe('register numbers', () => {
  it.each([
    ['0', undefined, 'holding', 0, 'holding register 40001 (0-based address 0)'],
    ['17', 'input', 'input', 17, 'input register 30018 (0-based address 17)'],
    ['0x0011', 'coil', 'coil', 17, 'coil 00018 (0-based address 17)'],
    ['40001', undefined, 'holding', 0, 'holding register 40001 (0-based address 0)'],
    ['49999', 'holding', 'holding', 9998, 'holding register 49999 (0-based address 9998)'],
    ['400001', undefined, 'holding', 0, 'holding register 40001 (0-based address 0)'],
    ['465536', undefined, 'holding', 65535, 'holding register 465536 (0-based address 65535)'],
    ['30002', undefined, 'input', 1, 'input register 30002 (0-based address 1)'],
    ['10001', undefined, 'discrete', 0, 'discrete input 10001 (0-based address 0)'],
    ['00005', undefined, 'coil', 4, 'coil 00005 (0-based address 4)'],
    ['0xFFFF', undefined, 'holding', 65535, 'holding register 465536 (0-based address 65535)'],
  ] as const)('%s (table %s) is %s address %i', (text, table, want, address, said) => {
    const ref = parseRegister(text, table);
    expect(ref).toMatchObject({ table: want, address });
    expect(describeRegister(ref)).toBe(said);
  });

  it.each([
    ['50001', 'must start with 4 (holding), 3 (input), 1 (discrete) or 0 (coil)'],
    ['40000', 'holding register numbers run from 40001 to 49999'],
    ['4000000', 'at most 6 digits'],
    ['forty', 'expected a register number'],
    ['-1', 'expected a register number'],
    ['0x10000', 'expected a register number'],
  ])('%s is refused: %s', (text, says) => {
    expect(() => parseRegister(text)).toThrow(CliError);
    expect(() => parseRegister(text)).toThrow(says);
  });

  it('a numbering that names another table than --table is refused', () => {
    expect(() => parseRegister('30001', 'holding')).toThrow('30001 is a input register number (leading 3) but --table is holding');
  });
});

describe('value codec', () => {
  const layouts: Layout[] = (['big', 'little'] as const).flatMap((byteOrder) => (['big', 'little'] as const).map((wordOrder) => ({ byteOrder, wordOrder })));
  const ints: [ValueType, number, number][] = [
    ['int16', -32768, 32767],
    ['uint16', 0, 65535],
    ['int32', -2147483648, 2147483647],
    ['uint32', 0, 4294967295],
  ];

  it.each(ints)('%s survives encode -> decode in every byte and word order', (type, min, max) => {
    fc.assert(
      fc.property(fc.integer({ min, max }), fc.constantFrom(...layouts), (n, layout) => {
        const words = encodeValue(n, type, layout);
        expect(words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff)).toBe(true);
        expect(decodeValue(words, type, layout)).toBe(n);
      }),
    );
  });

  it('float32 survives to its 7 significant digits', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), fc.constantFrom(...layouts), (x, layout) => {
        const back = decodeValue(encodeValue(x, 'float32', layout), 'float32', layout) as number;
        expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-6 + 1e-38);
      }),
    );
  });

  it('names the orders the way data sheets do', () => {
    expect(encodeValue(21.5, 'float32', { byteOrder: 'big', wordOrder: 'big' })).toEqual([0x41ac, 0x0000]); // ABCD
    expect(encodeValue(21.5, 'float32', { byteOrder: 'big', wordOrder: 'little' })).toEqual([0x0000, 0x41ac]); // CDAB
    expect(encodeValue(21.5, 'float32', { byteOrder: 'little', wordOrder: 'big' })).toEqual([0xac41, 0x0000]); // BADC
    expect(encodeValue(21.5, 'float32', { byteOrder: 'little', wordOrder: 'little' })).toEqual([0x0000, 0xac41]); // DCBA
  });

  it.each([
    ['70000', 'uint16', 'out of range for uint16 (0..65535)'],
    ['-1', 'uint32', 'out of range for uint32'],
    ['1.5', 'int16', 'int16 takes whole numbers'],
    ['maybe', 'bool', 'a bool is 1/0, true/false or on/off'],
    ['', 'float32', 'not a number'],
  ] as const)('value %j for %s is refused: %s', (text, type, says) => {
    expect(() => parseValue(text, type)).toThrow(says);
  });

  it('accepts hex and words for values', () => {
    expect(parseValue('0x00FF', 'uint16')).toBe(255);
    expect(parseValue('on', 'bool')).toBe(true);
    expect(parseValue('-3.25', 'float32')).toBe(-3.25);
  });
});
