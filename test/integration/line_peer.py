#!/usr/bin/env python3
"""
A line-protocol device on the far end of a PTY pair, independent of the gateway's code.

It behaves like a small motor controller:
  SPEED?      -> SPEED=<rpm>
  SPEED=<n>   -> OK SPEED=<n>         (ERR out of range above 3000)
  STATUS?     -> RUN=<0|1>;TEMP=<c>
  RUN=<0|1>   -> OK
  anything    -> ERR unknown command

The test drives it through stdin, one JSON object per line, answered with DONE on stdout:
  {"raw": "...", "chunk": n}   write these bytes to the port (in n-byte pieces if chunk is set)
  {"answer": false}            stop answering (a device that hangs)
  {"speed": n}                 change the speed as if turned on the front panel
Every line received on the port is echoed to stdout as `RX <line>`.
"""
import json
import os
import select
import sys
import time
import tty

fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
state = {"speed": 1200, "running": 1, "temp": 31.5, "answer": True}


def handle(text):
    if text == "SPEED?":
        return f"SPEED={state['speed']}"
    if text.startswith("SPEED="):
        n = int(text[6:])
        if n > 3000:
            return "ERR out of range"
        state["speed"] = n
        return f"OK SPEED={n}"
    if text == "STATUS?":
        return f"RUN={state['running']};TEMP={state['temp']:.1f}"
    if text in ("RUN=0", "RUN=1"):
        state["running"] = int(text[4])
        return "OK"
    return "ERR unknown command"


def out(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


out("READY")
buf = b""
while True:
    ready, _, _ = select.select([fd, sys.stdin], [], [])
    if sys.stdin in ready:
        line = sys.stdin.readline()
        if not line:
            break
        cmd = json.loads(line)
        if "answer" in cmd:
            state["answer"] = cmd["answer"]
        if "speed" in cmd:
            state["speed"] = cmd["speed"]
        if "raw" in cmd:
            data = cmd["raw"].encode("latin1")
            step = cmd.get("chunk") or len(data) or 1
            for i in range(0, len(data), step):
                os.write(fd, data[i : i + step])
                if step < len(data):
                    time.sleep(0.005)  # a slow device: pieces arrive as separate reads
        out("DONE")
    if fd in ready:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break  # the PTY is gone
        if not data:
            break
        buf += data
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            text = raw.decode("latin1").rstrip("\r")
            out("RX " + text)
            if state["answer"]:
                reply = handle(text)
                if reply is not None:
                    os.write(fd, (reply + "\n").encode())
