import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, validateConfig } from '../../src/config/load.js';
import { formatValue, parseValue, pointMeta } from '../../drivers/line/convert.js';

function problems(device: Record<string, unknown>, extra: Record<string, unknown>[] = []): string[] {
  try {
    validateConfig({ devices: [device, ...extra] });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const base = (points: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  id: 'dev1',
  driver: 'line',
  port: { path: '/dev/ttyUSB0' },
  points,
  ...more,
});

describe('line device config', () => {
  it('accepts the examples', () => {
    expect(loadConfigFile('config/examples/line-motor.yaml').devices[0]).toMatchObject({ driver: 'line', id: 'press_motor' });
    expect(loadConfigFile('config/examples/line-sensor.yaml').devices[0]).toMatchObject({ driver: 'line', id: 'hall_climate' });
  });

  it('fills in the port defaults', () => {
    const cfg = validateConfig({ devices: [base({ t: { type: 'float', pattern: '^T=(\\d+)$' } })] });
    expect(cfg.devices[0]).toMatchObject({
      port: { baud: 9600, parity: 'none', data_bits: 8, stop_bits: 1, delimiter: 'lf', encoding: 'ascii', max_line_length: 256, timeout_ms: 500 },
      offline_after: 3,
    });
  });

  it('reports a pattern that does not compile, with its path', () => {
    expect(problems(base({ speed: { type: 'int', command: 'SPEED?', pattern: '^SPEED=(\\d+$' } }))).toEqual([
      expect.stringMatching(/^devices\[0\]\.points\.speed\.pattern: not a valid regular expression: .*Unterminated group/),
    ]);
  });

  it('reports a write template without {value}', () => {
    const p = problems(base({ speed: { type: 'int', command: 'SPEED?', pattern: '^SPEED=(\\d+)$', access: 'rw', write: 'SPEED=' } }));
    expect(p).toEqual(['devices[0].points.speed.write: the template must contain {value}, e.g. "SPEED={value}"']);
  });

  it('reports the missing pieces of a point', () => {
    const p = problems(
      base({
        a: { type: 'int', command: 'A?' },
        b: { type: 'int' },
        c: { type: 'int', pattern: '^C=\\d+$' },
        d: { type: 'int', pattern: '^D=(\\d+)$', group: 'value' },
        e: { type: 'int', pattern: '^E=(\\d+)$', access: 'rw' },
        f: { type: 'enum', pattern: '^F=(\\d)$' },
        g: { type: 'bool', pattern: '^G=(\\d)$', min: 0 },
        h: { type: 'int', pattern: '^H=(\\d+)$', write: 'H={value}' },
        i: { type: 'int', pattern: '^I=(\\d+)$', access: 'rw', write: 'I={value}', ack: '^OK(' },
      }),
    );
    expect(p).toEqual([
      'devices[0].points.a.pattern: a point with `command` needs `pattern` to find its value in the answer',
      'devices[0].points.b: a read-only point needs `pattern` (and `command` if the device must be asked)',
      'devices[0].points.c.pattern: needs a capture group around the value, e.g. "^SPEED=(\\d+)$"',
      'devices[0].points.d.group: the pattern has no group named "value"',
      'devices[0].points.e.write: a writable point (access: rw) needs a write template, e.g. "SET={value}"',
      'devices[0].points.f.enum: type enum needs a map of raw texts to labels, e.g. {"0": stopped, "1": running}',
      'devices[0].points.g.min: only for type int or float',
      'devices[0].points.h.write: the point is read-only; set `access: rw` to make it writable',
      expect.stringMatching(/^devices\[0\]\.points\.i\.ack: not a valid regular expression/),
    ]);
  });

  it('reports schema errors with their paths', () => {
    const p = problems(base({ t: { type: 'decimal', pattern: '(x)' } }, { port: { path: '/dev/ttyUSB0', parity: 'maybe', baud: 0 } }));
    expect(p).toEqual(
      expect.arrayContaining([
        'devices[0].port.baud: must be >= 50',
        'devices[0].port.parity: must be one of none, even, odd, mark, space',
        'devices[0].points.t.type: must be one of int, float, bool, enum, string',
      ]),
    );
  });

  it('catches a delimiter written as backslash-n in single quotes', () => {
    const p = problems(base({ t: { type: 'int', pattern: '^T=(\\d+)$' } }, { port: { path: '/dev/ttyUSB0', delimiter: '\\r\\n' } }));
    expect(p).toEqual([expect.stringMatching(/^devices\[0\]\.port\.delimiter: .*backslash/)]);
  });

  it('requires devices on one port to agree on its settings', () => {
    const p = problems(base({ t: { type: 'int', pattern: '^T=(\\d+)$' } }), [
      { ...base({ u: { type: 'int', pattern: '^U=(\\d+)$' } }), id: 'dev2', port: { path: '/dev/ttyUSB0', baud: 19200 } },
    ]);
    expect(p).toEqual(['devices[1].port: /dev/ttyUSB0 is shared with devices[0], so its settings must be the same there']);
  });
});

describe('line device next to a Modbus bus', () => {
  it('refuses a port that a Modbus RTU bus already uses', () => {
    let found: string[] = [];
    try {
      validateConfig({ buses: [{ id: 'rtu1', kind: 'rtu', port: '/dev/ttyUSB0' }], devices: [base({ t: { type: 'int', pattern: '^T=(\\d+)$' } })] });
    } catch (err) {
      found = (err as ConfigError).problems;
    }
    expect(found).toEqual(['devices[0].port.path: /dev/ttyUSB0 is already the port of buses[0] (rtu1); one port serves one driver']);
  });
});

describe('line point conversion', () => {
  const point = (p: Record<string, unknown>) =>
    validateConfig({ devices: [base({ x: { pattern: '^X=(.*)$', ...p } })] }).devices[0]!.points!['x' as never] as never;

  it('scales numbers both ways', () => {
    const p = point({ type: 'int', scale: 0.1, offset: -40, access: 'rw', write: 'X={value}' });
    expect(parseValue(p, '652')).toBe(25.2);
    expect(formatValue(p, 25.2)).toBe('652');
    expect(pointMeta(p).type).toBe('number');
    expect(pointMeta(point({ type: 'int' })).type).toBe('integer');
  });

  it('reads booleans in the usual spellings and writes the configured texts', () => {
    const p = point({ type: 'bool', true_text: 'ON', false_text: 'OFF', access: 'rw', write: 'X={value}' });
    for (const t of ['1', 'true', 'On', 'YES', 'ON']) expect(parseValue(p, t)).toBe(true);
    for (const t of ['0', 'false', 'off', 'no']) expect(parseValue(p, t)).toBe(false);
    expect(formatValue(p, true)).toBe('ON');
    expect(() => parseValue(p, 'maybe')).toThrow('"maybe" is not a boolean (ON/OFF)');
  });

  it('maps enum texts to labels and back', () => {
    const p = point({ type: 'enum', enum: { R: 'running', S: 'stopped' }, access: 'rw', write: 'X={value}' });
    expect(parseValue(p, 'R')).toBe('running');
    expect(formatValue(p, 'stopped')).toBe('S');
    expect(pointMeta(p)).toMatchObject({ type: 'enum', enum: ['running', 'stopped'] });
    expect(() => parseValue(p, 'Q')).toThrow('"Q" is none of R, S');
  });

  it('refuses text that is not a number', () => {
    expect(() => parseValue(point({ type: 'int' }), '12.5')).toThrow('"12.5" is not a whole number');
    expect(() => parseValue(point({ type: 'float' }), 'abc')).toThrow('"abc" is not a number');
    expect(parseValue(point({ type: 'float' }), ' -1.5e2 ')).toBe(-150);
  });
});
