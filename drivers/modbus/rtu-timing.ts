/**
 * Timing of a Modbus RTU line (spec "MODBUS over Serial Line" V1.02, 2.5.1.1), kept apart from
 * the driver so that `mgw modbus` uses the same rule without loading the driver.
 */

export interface RtuLine {
  /** bit/s */
  baud: number;
  data_bits: number;
  parity: 'none' | 'even' | 'odd';
  stop_bits: number;
}

/**
 * The silence that separates frames: 3.5 character times (a start bit, the data bits, parity,
 * stop bits), fixed at 1.75 ms above 19200 baud; rounded up to whole ms for the timers. 3 ms at
 * 19200 8E1.
 */
export function rtuFrameGapMs(line: RtuLine): number {
  if (line.baud > 19_200) return 2;
  const bitsPerChar = 1 + line.data_bits + (line.parity === 'none' ? 0 : 1) + line.stop_bits;
  return Math.ceil((3.5 * bitsPerChar * 1000) / line.baud);
}
