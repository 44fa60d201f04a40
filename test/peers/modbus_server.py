#!/usr/bin/python3
"""A Modbus slave for tests, on pymodbus 3.0 (Debian python3-pymodbus).

    modbus_server.py tcp PORT [--units 1,2,3] [--sparse-hr 0-9,20-29] [--refuse-fc 5,6]
    modbus_server.py rtu DEVICE [--units 1,2,3] [--sparse-hr ...]
    modbus_server.py ascii DEVICE [--units 1,2,3]      (Modbus ASCII on a serial device)

Serves every table (coils, discrete inputs, input and holding registers, zero-based addresses
0-1023) for the listed units; other unit ids stay silent, like an absent device on a bus.
With --sparse-hr the holding registers exist only in the given ranges, so reads across a hole
answer exception 02 (illegal data address). With --refuse-fc the server does not know those
function codes and answers exception 01 (illegal function), as drives that take only FC16 do.

Prints `READY <port or device>` on stdout once it serves. Control on stdin, one JSON per line,
answered with one JSON line on stdout:
    {"op": "set", "unit": 1, "table": "hr", "address": 0, "values": [1, 2]}
    {"op": "get", "unit": 1, "table": "hr", "address": 0, "count": 2}
    {"op": "stats"}  -> {"ok": true, "requests": {"1:3:0": 12, "1:16:20": 1, ...}}
The request log counts every request the data store served, by "unit:function code:address".
Tables: co (coils), di (discrete inputs), ir (input registers), hr (holding registers).
"""
import argparse
import asyncio
import json
import logging
import sys

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.device import ModbusDeviceIdentification
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusAsciiFramer, ModbusRtuFramer

SIZE = 1024
FC_OF_TABLE = {"co": 1, "di": 2, "hr": 3, "ir": 4}


def ranges(spec):
    out = {}
    for part in spec.split(","):
        lo, hi = (int(x) for x in part.split("-"))
        for a in range(lo, hi + 1):
            out[a] = 0
    return out


requests = {}
# Tasks that must outlive the statement that started them (see main).
RUNNING = set()


class LoggingSlave(ModbusSlaveContext):
    """Counts each request: pymodbus validates every request against the store exactly once."""

    def __init__(self, unit, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit

    def validate(self, fc_as_hex, address, count=1):
        key = f"{self.unit}:{fc_as_hex}:{address}"
        requests[key] = requests.get(key, 0) + 1
        return super().validate(fc_as_hex, address, count)


def build_context(units, sparse_hr):
    slaves = {}
    for unit in units:
        hr = ModbusSparseDataBlock(ranges(sparse_hr)) if sparse_hr else ModbusSequentialDataBlock(0, [0] * SIZE)
        slaves[unit] = LoggingSlave(
            unit,
            co=ModbusSequentialDataBlock(0, [False] * SIZE),
            di=ModbusSequentialDataBlock(0, [False] * SIZE),
            ir=ModbusSequentialDataBlock(0, [0] * SIZE),
            hr=hr,
            zero_mode=True,
        )
    return ModbusServerContext(slaves=slaves, single=False)


def answer(context, line):
    try:
        req = json.loads(line)
        if req["op"] == "stats":
            return {"ok": True, "requests": dict(requests)}
        slave = context[int(req["unit"])]
        fc = FC_OF_TABLE[req["table"]]
        if req["op"] == "set":
            slave.setValues(fc, int(req["address"]), list(req["values"]))
            return {"ok": True}
        if req["op"] == "get":
            values = slave.getValues(fc, int(req["address"]), int(req.get("count", 1)))
            return {"ok": True, "values": [v if isinstance(v, bool) else int(v) for v in values]}
        return {"ok": False, "error": f"unknown op {req['op']}"}
    except Exception as exc:  # the test sees the reason instead of a dead peer
        return {"ok": False, "error": repr(exc)}


async def control(context):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            # The test went away: do not outlive it.
            loop.stop()
            return
        if line.strip():
            print(json.dumps(answer(context, line)), flush=True)


def refuse(server, spec):
    """Makes the server's decoder forget function codes: it then answers them with exception 01."""
    lookup = server.decoder._ServerDecoder__lookup  # pylint: disable=protected-access
    for fc in spec.split(",") if spec else []:
        lookup.pop(int(fc))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["tcp", "rtu", "ascii"])
    parser.add_argument("where")
    parser.add_argument("--units", default="1")
    parser.add_argument("--sparse-hr", default="")
    parser.add_argument("--refuse-fc", default="")
    parser.add_argument("--identity", default="", help="vendor|product code|revision (FC43/14)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    context = build_context([int(u) for u in args.units.split(",")], args.sparse_hr)
    identity = None
    if args.identity:
        vendor, product, revision = args.identity.split("|")
        identity = ModbusDeviceIdentification(info_name={"VendorName": vendor, "ProductCode": product, "MajorMinorRevision": revision})
    # Keep a reference: the event loop holds tasks only weakly, and a control task collected by
    # the garbage collector mid-readline leaves the test waiting for an answer forever.
    control_task = asyncio.get_running_loop().create_task(control(context))
    RUNNING.add(control_task)
    if args.kind == "tcp":
        server = await StartAsyncTcpServer(
            context,
            address=("127.0.0.1", int(args.where)),
            allow_reuse_address=True,
            identity=identity,
            defer_start=True,
            ignore_missing_slaves=True,
        )
        refuse(server, args.refuse_fc)
        task = asyncio.get_running_loop().create_task(server.serve_forever())
        await server.serving
        port = server.server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await task
    else:
        server = await StartAsyncSerialServer(
            context,
            framer=ModbusAsciiFramer if args.kind == "ascii" else ModbusRtuFramer,
            port=args.where,
            baudrate=19200,
            identity=identity,
            defer_start=True,
            ignore_missing_slaves=True,
        )
        refuse(server, args.refuse_fc)
        task = asyncio.get_running_loop().create_task(server.start())
        print(f"READY {args.where}", flush=True)
        await task
        await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, RuntimeError):
        pass
