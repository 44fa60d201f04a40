/**
 * The pause `mgw modbus` keeps on a serial line after a timeout: the RTU frame gap of 3.5
 * character times, which is what the line needs (the framing drops late replies), instead of a
 * fixed 20 ms more that made up a fifth of a 1-247 scan.
 */
import { expect, it } from 'vitest';
import { pauseAfterTimeoutMs } from '../../src/cli/commands/modbus-link.js';

it('after a timeout a serial line pauses 3.5 character times', () => {
  // 8E1 = 11 bits a character: 3.5 x 11 / 19200 s = 2.005 ms, rounded up to the timer's ms.
  expect(pauseAfterTimeoutMs({ baud: 19200, parity: 'even', stopBits: 1 })).toBe(3);
  // 8N1 = 10 bits: 3.65 ms at 9600.
  expect(pauseAfterTimeoutMs({ baud: 9600, parity: 'none', stopBits: 1 })).toBe(4);
  // 8N2 = 11 bits: 32.1 ms at 1200, a slow line needs it all.
  expect(pauseAfterTimeoutMs({ baud: 1200, parity: 'none', stopBits: 2 })).toBe(33);
  // Above 19200 baud the spec fixes the gap at 1.75 ms.
  expect(pauseAfterTimeoutMs({ baud: 115200, parity: 'even', stopBits: 1 })).toBe(2);
});
