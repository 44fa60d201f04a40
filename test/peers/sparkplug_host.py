#!/usr/bin/python3
"""
An independent Sparkplug B host application for the tests, written from the Sparkplug 3.0
specification: paho-mqtt for MQTT and a decoder that protoc generated from sparkplug_b.proto
(nothing of the gateway's code). It checks what a host must be able to rely on and reports every
message, decoded and with aliases resolved to names, as one JSON line on stdout:

  {"event": "message", "type": "DDATA", "device": "motor_01", "seq": 7, "metrics": [...]}
  {"event": "violation", "rule": "seq", "detail": "..."}     a broken promise of the spec

Checks: NBIRTH first with seq 0 and a bdSeq; seq +1 on every later message of the edge node,
wrapping 255 -> 0; a device's DBIRTH before its DDATA; every alias resolves to a born metric;
NDEATH carries the bdSeq of the NBIRTH it ends.

Commands on stdin, one JSON object a line: {"cmd": "rebirth"}, {"cmd": "state", "online": true},
{"cmd": "dcmd", "device": "...", "metrics": [{"name"|"alias", "datatype", "value"}], "token": "..."},
{"cmd": "raw", "topic": "...", "hex": "..."}.
"""
import argparse
import importlib
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--group", required=True)
ap.add_argument("--pb-dir", required=True, help="folder of the protoc-generated sparkplug_b_pb2.py")
ap.add_argument("--host-id", default=None, help="act as primary host: publish spBv1.0/STATE/<id>")
ap.add_argument("--client-id", default="sparkplug-test-host")
args = ap.parse_args()

sys.path.insert(0, args.pb_dir)
pb = importlib.import_module("sparkplug_b_pb2")

out_lock = threading.Lock()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def violation(rule, detail):
    emit({"event": "violation", "rule": rule, "detail": detail})


class Edge:
    def __init__(self):
        self.born = False
        self.bd_seq = None
        self.expect = None
        self.aliases = {}  # alias -> (device or None, name, datatype)
        self.devices = set()


edges = {}

VALUE_FIELDS = ["int_value", "long_value", "float_value", "double_value", "boolean_value", "string_value"]


def metric_value(m):
    if m.HasField("is_null") and m.is_null:
        return None
    field = m.WhichOneof("value")
    if field is None:
        return None
    v = getattr(m, field)
    # Signed types travel as two's complement in the uint32 field (spec 6.4.16).
    if field == "int_value" and m.datatype in (1, 2, 3) and v >= 2 ** 31:
        v -= 2 ** 32
    return v


def props(m):
    if not m.HasField("properties"):
        return {}
    out = {}
    for k, pv in zip(m.properties.keys, m.properties.values):
        f = pv.WhichOneof("value")
        out[k] = None if f is None else getattr(pv, f)
    return out


def on_message(client, userdata, msg):
    parts = msg.topic.split("/")
    if parts[0] != "spBv1.0" or len(parts) < 4 or parts[1] == "STATE":
        return
    group, kind, node = parts[1], parts[2], parts[3]
    device = parts[4] if len(parts) > 4 else None
    if kind in ("NCMD", "DCMD"):
        return
    p = pb.Payload()
    try:
        p.ParseFromString(msg.payload)
    except Exception as e:  # noqa: BLE001
        violation("decode", f"{msg.topic}: {e}")
        return
    e = edges.setdefault((group, node), Edge())
    seq = p.seq if p.HasField("seq") else None
    metrics = []
    if kind == "NBIRTH":
        if seq != 0:
            violation("seq", f"NBIRTH seq {seq}, expected 0")
        bd = [m for m in p.metrics if m.name == "bdSeq"]
        if not bd:
            violation("bdSeq", "NBIRTH without bdSeq")
        e.bd_seq = metric_value(bd[0]) if bd else None
        if not any(m.name == "Node Control/Rebirth" for m in p.metrics):
            violation("rebirth_metric", "NBIRTH without Node Control/Rebirth")
        e.born = True
        e.expect = 1
        e.aliases = {}
        e.devices = set()
    elif kind == "NDEATH":
        bd = [m for m in p.metrics if m.name == "bdSeq"]
        v = metric_value(bd[0]) if bd else None
        if e.bd_seq is not None and v != e.bd_seq:
            violation("bdSeq", f"NDEATH bdSeq {v} does not match NBIRTH bdSeq {e.bd_seq}")
        e.born = False
    else:
        if not e.born:
            violation("birth", f"{kind} {device} before NBIRTH")
        elif seq != e.expect:
            violation("seq", f"{kind} {device}: seq {seq}, expected {e.expect}")
        e.expect = ((seq if seq is not None else 0) + 1) % 256
        if kind == "DBIRTH":
            for alias in [a for a, v in e.aliases.items() if v[0] == device]:
                del e.aliases[alias]
            for m in p.metrics:
                if m.HasField("alias"):
                    e.aliases[m.alias] = (device, m.name, m.datatype)
            e.devices.add(device)
        elif kind == "DDATA" and device not in e.devices:
            violation("birth", f"DDATA for {device} before its DBIRTH")
        elif kind == "DDEATH":
            e.devices.discard(device)
    for m in p.metrics:
        name = m.name if m.HasField("name") else None
        datatype = m.datatype if m.HasField("datatype") else None
        if name is None and m.HasField("alias"):
            known = e.aliases.get(m.alias)
            if known is None or known[0] != device:
                violation("alias", f"{kind} {device}: alias {m.alias} was not born for this device")
            else:
                name, datatype = known[1], known[2]
                m.datatype = datatype
        metrics.append({
            "name": name,
            "alias": m.alias if m.HasField("alias") else None,
            "datatype": datatype,
            "timestamp": m.timestamp if m.HasField("timestamp") else None,
            "value": metric_value(m),
            "is_null": m.is_null if m.HasField("is_null") else False,
            "is_historical": m.is_historical if m.HasField("is_historical") else False,
            "properties": props(m),
        })
    emit({"event": "message", "type": kind, "node": node, "device": device, "seq": seq,
          "timestamp": p.timestamp if p.HasField("timestamp") else None, "metrics": metrics})


def state_payload(online):
    return json.dumps({"online": online, "timestamp": int(time.time() * 1000)})


client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv5)
if args.host_id:
    client.will_set(f"spBv1.0/STATE/{args.host_id}", state_payload(False), qos=1, retain=True)


def on_connect(client, userdata, flags, rc, properties=None):
    client.subscribe(f"spBv1.0/{args.group}/#", qos=0)
    if args.host_id:
        client.publish(f"spBv1.0/STATE/{args.host_id}", state_payload(True), qos=1, retain=True)
    emit({"event": "connected"})


def on_subscribe(client, userdata, mid, granted, properties=None):
    emit({"event": "subscribed"})


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
# connect_async + loop_start: keeps trying until the broker is there, and reconnects quickly.
client.reconnect_delay_set(min_delay=0.05, max_delay=0.2)
client.connect_async("127.0.0.1", args.port, keepalive=30)
client.loop_start()


def set_value(m, datatype, value):
    if value is None:
        m.is_null = True
    elif datatype == 11:
        m.boolean_value = bool(value)
    elif datatype in (12, 14):
        m.string_value = str(value)
    elif datatype == 9:
        m.float_value = float(value)
    elif datatype == 10:
        m.double_value = float(value)
    elif datatype in (1, 2, 3, 5, 6, 7):
        m.int_value = int(value) & 0xFFFFFFFF
    else:
        m.long_value = int(value)


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    c = json.loads(line)
    edge = c.get("edge")
    if c["cmd"] == "rebirth":
        p = pb.Payload()
        p.timestamp = int(time.time() * 1000)
        m = p.metrics.add()
        m.name = "Node Control/Rebirth"
        m.datatype = 11
        m.boolean_value = True
        client.publish(f"spBv1.0/{args.group}/NCMD/{edge}", p.SerializeToString(), qos=0)
    elif c["cmd"] == "state":
        client.publish(f"spBv1.0/STATE/{args.host_id}", state_payload(c["online"]), qos=1, retain=True)
    elif c["cmd"] == "dcmd":
        p = pb.Payload()
        p.timestamp = int(time.time() * 1000)
        for spec in c["metrics"]:
            m = p.metrics.add()
            if "name" in spec:
                m.name = spec["name"]
            if "alias" in spec:
                m.alias = spec["alias"]
            m.datatype = spec["datatype"]
            set_value(m, spec["datatype"], spec["value"])
        props_ = None
        if c.get("token"):
            props_ = Properties(PacketTypes.PUBLISH)
            props_.UserProperty = ("token", c["token"])
        client.publish(f"spBv1.0/{args.group}/DCMD/{edge}/{c['device']}", p.SerializeToString(), qos=0, properties=props_)
    elif c["cmd"] == "raw":
        client.publish(c["topic"], bytes.fromhex(c["hex"]), qos=0)
    emit({"event": "sent", "cmd": c["cmd"], "id": c.get("id")})

client.loop_stop()
client.disconnect()
