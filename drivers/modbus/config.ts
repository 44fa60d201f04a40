/**
 * Config of Modbus devices (units) on a bus (the buses: drivers/bus/config.ts). Addresses are zero-based PDU addresses as they travel on the wire:
 * holding register "40001" in a vendor manual is `table: holding, address: 0`.
 */
import * as v from 'valibot';
import { deviceCommon, int, num, pointConfirm, pointNameRule, text } from '../../src/config/fields.js';
import { PROFILE_NAMES } from '../profiles/names.js';

export type { BusConfig } from '../bus/config.js';

export const TABLES = ['coil', 'discrete', 'input', 'holding'] as const;
export const POINT_TYPES = [
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'float32',
  'int64',
  'uint64',
  'float64',
  'int8',
  'uint8',
  'bcd16',
  'bcd32',
  'string',
  'bit',
] as const;
export const TRIMS = ['right', 'both', 'none'] as const;
export const ORDERS = ['big', 'little'] as const;
export const WRITE_FUNCTIONS = [6, 16] as const;
export const BIT_WRITES = ['mask', 'read_modify_write'] as const;

/**
 * How writes travel. Many drives and PLCs refuse the single-item functions (FC5/FC6) and take
 * only the multiple ones (FC15/FC16), even for one register or coil.
 */
const writeFunction = v.pipe(
  v.picklist(WRITE_FUNCTIONS, 'must be 6 or 16'),
  v.description('6: one register by FC6 and one coil by FC5 (several adjacent ones by FC16/FC15); 16: always FC16 for registers and FC15 for coils. Default 6.'),
);
const bitWrite = v.pipe(
  v.picklist(BIT_WRITES, `must be one of ${BIT_WRITES.join(', ')}`),
  v.description(
    'How a `bit` point is written: mask (FC22 mask write register, atomic; a unit answering exception 01 to it is then written by read_modify_write) or read_modify_write (read the register, change the bit, write it back). Default mask.',
  ),
);

export type Table = (typeof TABLES)[number];
export type ModbusPointType = (typeof POINT_TYPES)[number];


export const ModbusPointSchema = v.strictObject(
  {
    table: v.pipe(
      v.picklist(TABLES, `must be one of ${TABLES.join(', ')}`),
      v.description('coil (FC1 read, FC5/15 write), discrete (FC2), input (FC4), holding (FC3 read, FC6/16 write).'),
    ),
    address: int(0, 65535, 'Zero-based address on the wire (holding "40001" is 0).'),
    type: v.optional(
      v.pipe(
        v.picklist(POINT_TYPES, `must be one of ${POINT_TYPES.join(', ')}`),
        v.description(
          'bool for coils and discrete inputs; bit for one bit of a register; int8/uint8 for one byte of it (byte:); 32-bit types and bcd32 take two registers, 64-bit types four; bcd16/bcd32 are packed BCD (4/8 digits); string takes length: characters.',
        ),
      ),
    ),
    bit: v.optional(int(0, 15, 'For type bit: which bit of the register (0 = least significant).')),
    bits: v.optional(
      v.pipe(
        v.string('must be a bit range such as 4-7'),
        v.regex(/^(1[0-5]|[0-9])-(1[0-5]|[0-9])$/, 'must be a bit range such as 4-7 (bits 0-15, low-high)'),
        v.description('For a uint16 point: the field of the register it is, e.g. 4-7 (0 = least significant); the value is the field shifted down.'),
      ),
    ),
    byte: v.optional(
      v.pipe(v.picklist(['high', 'low'] as const, 'must be high or low'), v.description('For int8/uint8: which byte of the register, high (the first on the wire) or low.')),
    ),
    length: v.optional(int(1, 240, 'For type string: its length in characters (bytes, two per register).')),
    trim: v.optional(
      v.pipe(
        v.picklist(TRIMS, `must be one of ${TRIMS.join(', ')}`),
        v.description('For type string: the text ends at the first NUL; right (default) also drops trailing spaces, both leading and trailing, none keeps them.'),
      ),
    ),
    byte_order: v.optional(v.picklist(ORDERS, 'must be big or little'), 'big'),
    word_order: v.optional(v.picklist(ORDERS, 'must be big or little (big: high word first)'), 'big'),
    scale: v.optional(num('value = raw * scale + offset'), 1),
    offset: v.optional(num('value = raw * scale + offset'), 0),
    decimals: v.optional(int(0, 12, 'Digits after the decimal point to show; default: those of scale and offset (scale 0.1 shows one).')),
    unit: v.optional(text('Engineering unit shown to users, e.g. rpm, °C, kWh.')),
    access: v.optional(v.picklist(['r', 'rw'] as const, 'must be r or rw'), 'r'),
    min: v.optional(num('Smallest value a write may set (engineering units).')),
    max: v.optional(num('Largest value a write may set (engineering units).')),
    enum: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(/^-?\d+$/, 'enum keys must be whole numbers (the raw value)')),
        text('label for this raw value'),
        'must map raw values to labels, e.g. {0: stopped, 1: running}',
      ),
    ),
    deadband: v.optional(v.pipe(num('Changes smaller than this (engineering units) are not published.'), v.minValue(0, 'must be >= 0')), 0),
    range_check: v.optional(
      v.pipe(
        v.boolean('must be true or false'),
        v.description('Treat min/max as the physical range too: a value read outside it is not published and the point is marked bad (a broken sensor, a wrong register). Default false.'),
      ),
    ),
    write_function: v.optional(writeFunction),
    bit_write: v.optional(bitWrite),
    poll_interval_ms: v.optional(
      int(10, 3_600_000, "How often this point is read (ms), when it differs from its device's: points with one interval are read together."),
    ),
    description: v.optional(text('What the point means.')),
    confirm: pointConfirm,
  },
  'unknown setting',
);

export const ModbusDeviceSchema = v.strictObject(
  {
    ...deviceCommon,
    driver: v.literal('modbus'),
    bus: text('Id of the bus (under `buses:`) the device hangs on.'),
    unit: int(
      0,
      255,
      'Modbus unit (slave) id: 1-247 on a serial line (0 is broadcast there, 248-255 reserved); over TCP 0-255, as many TCP devices answer only unit 0 or 255.',
    ),
    address_offset: v.optional(
      int(
        -65535,
        65535,
        'Added to the address of every point declared under points: (not to a profile\'s): -1 for a manual that counts registers from 1.',
      ),
    ),
    write_function: v.optional(writeFunction),
    bit_write: v.optional(bitWrite),
    timeout_ms: v.optional(int(10, 60_000, "How long to wait for this unit's reply (ms), overriding its bus's timeout_ms: a slow unit on a fast line.")),
    request_delay_ms: v.optional(int(0, 10_000, "Silence before each request to this unit (ms), overriding its bus's request_delay_ms.")),
    max_read_registers: v.optional(int(1, 125, 'Most registers one read request to this unit asks for (1-125; some units refuse 125).')),
    max_read_bits: v.optional(int(1, 2000, 'Most coils or discrete inputs one read request to this unit asks for (1-2000).')),
    profile: v.optional(v.pipe(v.picklist(PROFILE_NAMES, `must be one of ${PROFILE_NAMES.join(', ')}`), v.description('A built-in register map.'))),
    points: v.optional(
      v.record(
        v.pipe(v.string(), pointNameRule),
        v.nullable(ModbusPointSchema),
        'must map point names to point definitions (null drops a point of the profile)',
      ),
    ),
    exclude: v.optional(
      v.pipe(
        v.array(text('a point name of the profile'), 'must be a list of point names'),
        v.description('Points of the profile this device does not have (their registers mean something else on it); same as `points: {name: null}`.'),
      ),
    ),
  },
  'unknown setting',
);

export type ModbusPointConfig = v.InferOutput<typeof ModbusPointSchema>;
export type ModbusPointInput = v.InferInput<typeof ModbusPointSchema>;
export type ModbusDeviceConfig = v.InferOutput<typeof ModbusDeviceSchema>;
