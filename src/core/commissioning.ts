/**
 * Commissioning through the running gateway: a technician's raw Modbus reads, writes and
 * identification requests (`mgw modbus ... ` while the daemon holds the line), run by the bus's
 * own scheduler at background priority between the polls. The server speaks to buses through
 * this contract; the Modbus driver implements it (drivers/modbus/commission.ts).
 */
import type { PointValue } from './points.js';

export type RawTable = 'holding' | 'input' | 'coil' | 'discrete';

export interface RawRead {
  unit: number;
  table: RawTable;
  address: number;
  count: number;
  /** Per attempt (ms); default: the bus's timeout. */
  timeoutMs?: number | undefined;
  /** Attempts, 1-10; default: the bus's retries + 1. */
  tries?: number | undefined;
}

/** The typed write of `mgw modbus write`; the values are encoded by the gateway's own codec. */
export interface RawWrite {
  unit: number;
  table: 'holding' | 'coil';
  address: number;
  /** A Modbus point type of the codec (int16, float32, string, ...); bool for coils. */
  type: string;
  byteOrder: 'big' | 'little';
  wordOrder: 'big' | 'little';
  values: (number | boolean | string)[];
  /** Register count per value, for `string` (default: the type's own width). */
  length?: number | undefined;
  /** single: FC5/FC6 for one item; multiple: FC15/FC16; read_write: FC23, written and read back in one transaction. */
  function: 'single' | 'multiple' | 'read_write';
  timeoutMs?: number | undefined;
  tries?: number | undefined;
}

export interface RawWriteResult {
  function_code: number;
  /** FC23: the registers read back in the same transaction. */
  read_back?: number[];
  /** What the registers or coils held before (read just before the write), by Modicon number, for the audit trail. */
  previous: Record<string, PointValue>;
  /** What was asked, by Modicon number of each value's first register or coil. */
  requested: Record<string, PointValue>;
}

/** One Modbus bus as the server sees it. */
export interface CommissioningBus {
  readonly id: string;
  /** The configured devices on the bus, to name the machine a raw write touched. */
  readonly devices: readonly { id: string; unit: number }[];
  readonly linkUp: boolean;
  read(r: RawRead): Promise<number[] | boolean[]>;
  write(w: RawWrite): Promise<RawWriteResult>;
  identify(unit: number, timeoutMs?: number, tries?: number): Promise<Record<number, string>>;
}
