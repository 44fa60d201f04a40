import { describe, expect, it } from 'vitest';
import { createLogger, journaldPriority } from '../../src/platform/logger.js';

function capture(journald: boolean) {
  const lines: string[] = [];
  const log = createLogger({ level: 'trace', journald, destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines };
}

describe('logging', () => {
  it('writes one JSON object per event, fields first, with the module of a child logger', () => {
    const { log, lines } = capture(false);
    log.child({ module: 'bus' }).warn({ device: 'motor_01', code: 'timeout' }, 'poll timed out');
    const obj = JSON.parse(lines[0]!);
    expect(obj).toMatchObject({ level: 40, module: 'bus', device: 'motor_01', code: 'timeout', msg: 'poll timed out' });
  });

  it('prefixes each line with its syslog priority under journald', () => {
    const { log, lines } = capture(true);
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d');
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(JSON.parse(lines[0]!.slice(3))).toMatchObject({ msg: 'e' });
  });

  it('maps pino levels to syslog priorities', () => {
    expect(journaldPriority('{"level":60,"msg":"x"}')).toBe(2);
    expect(journaldPriority('{"level":10}')).toBe(7);
    expect(journaldPriority('not json')).toBe(6);
  });
});
