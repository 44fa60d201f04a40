#!/usr/bin/python3
"""A Modbus slave that misbehaves the way field devices and gateways do, written from the
Modbus specifications alone (Application Protocol V1.1b3, Serial Line V1.02, Messaging on
TCP/IP V1.0b), independent of the gateway's code and of pymodbus.

    field_peer.py tcp PORT   --units 1,5      (0: pick a free port)
    field_peer.py rtu DEVICE --units 7,8      (a PTY end; no wire timing)

Serves holding and input registers 0-1023 (FC3, FC4, FC6, FC16) for the listed units; other
units are silent on RTU and answered with exception 0x0B over TCP, as a TCP-to-RTU gateway
does. Rules make a unit or one register misbehave:

    {"op": "rule", "unit": 7, "fc": 3, "address": 100, "action": "silent"}
    {"op": "rule", "unit": 5, "action": "exception", "code": 11}
    {"op": "rule", "unit": 7, "fc": 3, "address": 100, "action": "badcount"}
    {"op": "rule", "unit": 7, "fc": 3, "address": 100, "action": "ok"}   (clears that rule)
    {"op": "rule", "unit": 7, "action": "delay", "ms": 150}   (answers, that much later)

A rule with an address applies to reads that include that register; without fc/address, to
every request for the unit. "badcount" answers with one register fewer than asked (the byte
count does not match the request). Control on stdin, one JSON per line, answered on stdout:

    {"op": "set", "unit": 7, "table": "hr", "address": 0, "values": [1, 2]}
    {"op": "stats"}   -> {"ok": true, "requests": {"7:3:100": 12, ...}}
    {"op": "times"}   -> {"ok": true, "times": [12.5, 212.9, ...]}  (ms each request arrived, monotonic)
    {"op": "frames"}  -> {"ok": true, "frames": ["00010000000601030000000A", ...], "replies": [...]}
                         (every request and reply frame as it crossed the line, hex; TCP with its MBAP header)

Prints `READY <port or device>` once it serves.
"""
import argparse
import json
import os
import select
import socket
import sys
import threading
import termios
import time
import tty

SIZE = 1024
lock = threading.Lock()
tables = {}
rules = {}
requests = {}
arrivals = []
frames = {"rx": [], "tx": []}


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def rule_for(unit, fc, address, count):
    # A rule for the whole unit wins over one for a function or register (a dead unit is dead).
    for (u, f, a), r in sorted(rules.items(), key=lambda kv: (kv[0][1] is not None, kv[0][2] is not None)):
        if u != unit:
            continue
        if f is not None and f != fc:
            continue
        if a is not None and not (address <= a < address + count):
            continue
        return r
    return None


def exception(fc, code):
    return bytes([fc | 0x80, code])


def answer(unit, pdu, served):
    """The response PDU for a request PDU, or None for silence."""
    if len(pdu) < 5:
        return None
    fc = pdu[0]
    address = int.from_bytes(pdu[1:3], "big")
    count = int.from_bytes(pdu[3:5], "big") if fc in (3, 4, 16) else 1
    with lock:
        key = f"{unit}:{fc}:{address}"
        requests[key] = requests.get(key, 0) + 1
        arrivals.append(time.monotonic() * 1000)
        rule = rule_for(unit, fc, address, count)
    if rule is not None and rule["action"] == "delay":
        # Outside the lock: a slow unit must not stall the control channel.
        time.sleep(float(rule.get("ms", 0)) / 1000)
    with lock:
        if rule is not None and rule["action"] == "silent":
            return None
        if rule is not None and rule["action"] == "exception":
            return exception(fc, int(rule.get("code", 4)))
        if unit not in served:
            return None if absent_silent[0] else exception(fc, 11)
        regs = tables[unit]
        if fc in (3, 4):
            if count < 1 or count > 125 or address + count > SIZE:
                return exception(fc, 2)
            words = regs["hr" if fc == 3 else "ir"][address : address + count]
            if rule is not None and rule["action"] == "badcount":
                words = words[:-1] if len(words) > 1 else words + [0]
            return bytes([fc, 2 * len(words)]) + b"".join(w.to_bytes(2, "big") for w in words)
        if fc == 6:
            if address >= SIZE:
                return exception(fc, 2)
            regs["hr"][address] = int.from_bytes(pdu[3:5], "big")
            return pdu[:5]
        if fc == 16:
            if address + count > SIZE or len(pdu) < 6 + 2 * count:
                return exception(fc, 2)
            for i in range(count):
                regs["hr"][address + i] = int.from_bytes(pdu[6 + 2 * i : 8 + 2 * i], "big")
            return pdu[:5]
        return exception(fc, 1)


# RTU: absent units are silent; TCP: a gateway answers 0x0B for them.
absent_silent = [True]


def request_length(buf):
    """Length of the RTU request at the start of buf, or None if more bytes are needed."""
    if len(buf) < 2:
        return None
    fc = buf[1]
    if fc in (1, 2, 3, 4, 5, 6):
        return 8
    if fc in (15, 16):
        if len(buf) < 7:
            return None
        return 9 + buf[6]
    return 4  # unknown function: skip unit, fc and a CRC's worth


def serve_rtu(device, served):
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    termios.tcflush(fd, termios.TCIOFLUSH)
    buf = b""
    while True:
        select.select([fd], [], [])
        buf += os.read(fd, 512)
        while True:
            n = request_length(buf)
            if n is None or len(buf) < n:
                break
            frame = buf[:n]
            if crc16(frame[:-2]) != frame[-2:]:
                buf = buf[1:]  # resynchronise on the next byte
                continue
            buf = buf[n:]
            unit = frame[0]
            frames["rx"].append(frame.hex().upper())
            pdu = answer(unit, frame[1:-2], served)
            if pdu is not None:
                adu = bytes([unit]) + pdu
                frames["tx"].append((adu + crc16(adu)).hex().upper())
                os.write(fd, adu + crc16(adu))


def serve_tcp_client(conn, served):
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while len(buf) >= 7:
            length = int.from_bytes(buf[4:6], "big")
            if len(buf) < 6 + length:
                break
            tid, unit, pdu = buf[0:2], buf[6], buf[7 : 6 + length]
            frames["rx"].append(buf[: 6 + length].hex().upper())
            buf = buf[6 + length :]
            out = answer(unit, pdu, served)
            if out is not None:
                reply = tid + b"\x00\x00" + (len(out) + 1).to_bytes(2, "big") + bytes([unit]) + out
                frames["tx"].append(reply.hex().upper())
                conn.sendall(reply)


def serve_tcp(listener, served):
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_tcp_client, args=(conn, served), daemon=True).start()


def control(line):
    try:
        req = json.loads(line)
        with lock:
            if req["op"] == "set":
                tables[int(req["unit"])][req["table"]][int(req["address"]) : int(req["address"]) + len(req["values"])] = [
                    int(v) for v in req["values"]
                ]
                return {"ok": True}
            if req["op"] == "rule":
                unit = int(req["unit"])
                if req["action"] == "ok":
                    rules.pop((unit, req.get("fc"), req.get("address")), None)
                else:
                    rules[(unit, req.get("fc"), req.get("address"))] = req
                return {"ok": True}
            if req["op"] == "stats":
                return {"ok": True, "requests": dict(requests)}
            if req["op"] == "frames":
                return {"ok": True, "frames": list(frames["rx"]), "replies": list(frames["tx"])}
            if req["op"] == "times":
                return {"ok": True, "times": list(arrivals)}
        return {"ok": False, "error": f"unknown op {req['op']}"}
    except Exception as exc:  # the test sees the reason instead of a dead peer
        return {"ok": False, "error": repr(exc)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["tcp", "rtu"])
    parser.add_argument("where")
    parser.add_argument("--units", default="1")
    args = parser.parse_args()
    served = {int(u) for u in args.units.split(",")}
    for u in served:
        tables[u] = {"hr": [0] * SIZE, "ir": [0] * SIZE}
    if args.kind == "tcp":
        absent_silent[0] = False
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(args.where)))
        listener.listen(4)
        threading.Thread(target=serve_tcp, args=(listener, served), daemon=True).start()
        print(f"READY {listener.getsockname()[1]}", flush=True)
    else:
        threading.Thread(target=serve_rtu, args=(args.where, served), daemon=True).start()
        print(f"READY {args.where}", flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(control(line)), flush=True)
    # stdin closed: the test went away; do not outlive it.


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
