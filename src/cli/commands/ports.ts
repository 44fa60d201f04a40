/**
 * `mgw ports`: the serial ports of this machine, with the stable /dev/serial/by-id names a
 * configuration should use (ttyUSB numbers change with plug order) and the USB adapter behind each.
 */
import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { dim, print, table } from '../output.js';
import type { GlobalOptions } from '../options.js';

export interface PortInfo {
  path: string;
  by_id: string[];
  by_path: string[];
  vendor_id: string | null;
  product_id: string | null;
  manufacturer: string | null;
  serial_number: string | null;
  /** The usual chip behind this USB vendor id, when it is a common USB-serial adapter. */
  chip: string | null;
}

/** Vendor ids of the USB-serial chips found in most RS-485 adapters. */
const CHIPS: Record<string, string> = {
  '0403': 'FTDI',
  '067b': 'Prolific PL2303',
  '1a86': 'WCH CH340/CH341',
  '10c4': 'Silicon Labs CP210x',
  '2341': 'Arduino',
  '0483': 'STMicroelectronics',
  '1366': 'SEGGER J-Link',
};

export function registerPorts(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ports')
    .description('list serial ports with their /dev/serial/by-id names and USB vendor/product')
    .action(async () => {
      const ports = await listPorts();
      if (globals().json) return print(JSON.stringify(ports, null, 2));
      if (ports.length === 0) return print('no serial ports found (is the USB adapter plugged in? `dmesg | tail` shows what the kernel saw)');
      print(
        table(
          ['PORT', 'BY-ID (use this in the configuration)', 'USB', 'ADAPTER'],
          ports.map((p) => [
            p.path,
            p.by_id[0] ?? dim('-'),
            p.vendor_id ? `${p.vendor_id}:${p.product_id ?? '????'}` : dim('-'),
            [p.chip ?? p.manufacturer, p.serial_number ? `s/n ${p.serial_number}` : null].filter(Boolean).join(', ') || dim('-'),
          ]),
        ),
      );
    });
}

export async function listPorts(): Promise<PortInfo[]> {
  // Loaded here, not at the top: serialport's native binding costs every other command startup time.
  const { SerialPort } = await import('serialport');
  let listed: Awaited<ReturnType<typeof SerialPort.list>>;
  try {
    listed = await SerialPort.list();
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/udevadm|ENOENT/.test(msg)) throw new CliError(`cannot list serial ports: udevadm is missing (apt-get install udev)`, EXIT.unavailable);
    throw new CliError(`cannot list serial ports: ${msg}`, EXIT.unavailable);
  }
  const byId = await links('/dev/serial/by-id');
  const byPath = await links('/dev/serial/by-path');
  const ports = new Map<string, PortInfo>();
  const entry = (path: string): PortInfo => {
    let p = ports.get(path);
    if (!p) {
      p = { path, by_id: [], by_path: [], vendor_id: null, product_id: null, manufacturer: null, serial_number: null, chip: null };
      ports.set(path, p);
    }
    return p;
  };
  for (const l of listed) {
    const p = entry(l.path);
    p.vendor_id = l.vendorId?.toLowerCase() ?? null;
    p.product_id = l.productId?.toLowerCase() ?? null;
    p.manufacturer = l.manufacturer ?? null;
    p.serial_number = l.serialNumber ?? null;
    p.chip = p.vendor_id ? (CHIPS[p.vendor_id] ?? null) : null;
  }
  // A by-id link whose device udev did not report is still a port worth showing.
  for (const [target, names] of byId) entry(target).by_id.push(...names);
  for (const [target, names] of byPath) entry(target).by_path.push(...names);
  return [...ports.values()].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}

/** target device -> link paths in dir (empty when the directory does not exist: no USB serial). */
async function links(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const link = join(dir, name);
    try {
      const target = await realpath(link);
      out.set(target, [...(out.get(target) ?? []), link]);
    } catch {
      // dangling link: the adapter was unplugged while we looked
    }
  }
  return out;
}
