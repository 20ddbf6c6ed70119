#!/usr/bin/env python3
"""Writes the fuzz seed corpora: tests/fuzz/corpus/<target>/<name>.

Small hand-built SPOP inputs (stdlib only) covering every frame type, every
data type, the varint boundaries, and the errors the agent must refuse. Run it
again after changing it; the output is deterministic. The captured HAProxy
frames in tests/fixtures/ are added by run.sh at run time.

session_fuzz inputs start with two bytes (options, split): see session_fuzz.cc.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

HAPROXY_HELLO, HAPROXY_DISCONNECT, NOTIFY = 1, 2, 3
AGENT_HELLO, AGENT_DISCONNECT, ACK = 101, 102, 103
FIN, ABORT = 1, 2

NULL, BOOL, INT32, UINT32, INT64, UINT64, IPV4, IPV6, STRING, BINARY = range(10)


def varint(v):
    if v < 240:
        return bytes([v])
    out = [(v | 0xF0) & 0xFF]
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v | 0x80) & 0xFF)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def lp(b):
    if isinstance(b, str):
        b = b.encode()
    return varint(len(b)) + b


def typed(kind, value=None):
    if kind == NULL:
        return bytes([NULL])
    if kind == BOOL:
        return bytes([BOOL | (0x10 if value else 0)])
    if kind in (INT32, INT64):
        return bytes([kind]) + varint(value & 0xFFFFFFFFFFFFFFFF)
    if kind in (UINT32, UINT64):
        return bytes([kind]) + varint(value)
    if kind in (IPV4, IPV6):
        return bytes([kind]) + value
    return bytes([kind]) + lp(value)


def kv(key, value):
    return lp(key) + value


def frame(ftype, payload=b"", stream_id=0, frame_id=0, flags=FIN):
    body = bytes([ftype]) + struct.pack(">I", flags) + varint(stream_id) + varint(frame_id) + payload
    return struct.pack(">I", len(body)) + body


def hello(versions="2.0", max_frame_size=16380, capabilities="pipelining", healthcheck=None,
          engine_id="seed-engine"):
    p = kv("supported-versions", typed(STRING, versions))
    p += kv("max-frame-size", typed(UINT32, max_frame_size))
    p += kv("capabilities", typed(STRING, capabilities))
    if healthcheck is not None:
        p += kv("healthcheck", typed(BOOL, healthcheck))
    if engine_id:
        p += kv("engine-id", typed(STRING, engine_id))
    return p


def message(name, args):
    out = lp(name) + bytes([len(args)])
    for key, value in args:
        out += kv(key, value)
    return out


ALL_TYPES = [
    ("null", typed(NULL)),
    ("t", typed(BOOL, True)),
    ("f", typed(BOOL, False)),
    ("i32", typed(INT32, -2147483648)),
    ("u32", typed(UINT32, 4294967295)),
    ("i64", typed(INT64, -1)),
    ("u64", typed(UINT64, 2**64 - 1)),
    ("v4", typed(IPV4, bytes([127, 0, 0, 1]))),
    ("v6", typed(IPV6, bytes(range(16)))),
    ("s", typed(STRING, "gpt-4o-mini")),
    ("b", typed(BINARY, b"\x00\x01\xff")),
    ("", typed(STRING, "")),
]

HDRS_BIN = lp("authorization") + lp("Bearer km-client-x") + lp("content-type") + lp(
    "application/json") + b"\x00\x00"

ROUTE = message("route", [
    ("src", typed(IPV4, bytes([10, 0, 0, 1]))),
    ("method", typed(STRING, "POST")),
    ("path", typed(STRING, "/v1/chat/completions")),
    ("request_id", typed(STRING, "6f1c0e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b")),
    ("client_auth", typed(STRING, "Bearer km-client-x")),
    ("client_api_key", typed(NULL)),
    ("model", typed(STRING, "gpt-4o-mini")),
    ("body_size", typed(INT64, 90)),
    ("hdrs", typed(BINARY, HDRS_BIN)),
])
SETTLE = message("settle", [
    ("status", typed(INT32, 429)),
    ("key_id", typed(STRING, "openai-1")),
    ("retry_after", typed(STRING, "20")),
])


def actions():
    out = b""
    for scope in range(5):
        out += bytes([1, 3, scope]) + lp("v%d" % scope) + typed(STRING, "x")
    for _, value in ALL_TYPES:
        out += bytes([1, 3, 2]) + lp("all") + value
    out += bytes([2, 2, 2]) + lp("gone")
    return out


def disconnect(status, text):
    return kv("status-code", typed(UINT32, status)) + kv("message", typed(STRING, text))


def decoder_seeds():
    seeds = {
        "hello-3x": frame(HAPROXY_HELLO, hello()),
        "hello-26": frame(HAPROXY_HELLO, hello("2.0", 16380, "pipelining,async")),
        "hello-healthcheck": frame(HAPROXY_HELLO, hello(healthcheck=True)),
        "hello-versions": frame(HAPROXY_HELLO, hello(versions=" 1.0 , 2.0 ,3.0")),
        "hello-missing-version": frame(HAPROXY_HELLO, kv("max-frame-size", typed(UINT32, 256))),
        "notify-route": frame(NOTIFY, ROUTE, 1, 1),
        "notify-two-messages": frame(NOTIFY, ROUTE + SETTLE, 2**32, 264432),
        "notify-all-types": frame(NOTIFY, message("types", ALL_TYPES), 239, 240),
        "notify-empty": frame(NOTIFY, b"", 2287, 2288),
        "ack": frame(ACK, actions(), 33818863, 33818864),
        "agent-hello": frame(AGENT_HELLO, kv("version", typed(STRING, "2.0")) +
                             kv("max-frame-size", typed(UINT32, 16380)) +
                             kv("capabilities", typed(STRING, "pipelining"))),
        "agent-disconnect": frame(AGENT_DISCONNECT, disconnect(4, "invalid frame received")),
        "haproxy-disconnect": frame(HAPROXY_DISCONNECT, disconnect(0, "normal")),
        "payload-kv": hello(),
        "payload-notify": ROUTE + SETTLE,
        "payload-actions": actions(),
        "payload-disconnect": disconnect(2, "timeout"),
        "zero-length": b"\x00\x00\x00\x00",
        "huge-length": b"\xff\xff\xff\xff\x03",
        "truncated": frame(NOTIFY, ROUTE, 1, 1)[:40],
        "varint-max": frame(NOTIFY, b"", 2**64 - 1, 2**64 - 1),
        "varint-overlong": b"\x00\x00\x00\x10\x03\x00\x00\x00\x01" + b"\xff" * 11,
    }
    return seeds


def session_seed(options, split, data):
    return bytes([options, split]) + data


def session_seeds():
    h = frame(HAPROXY_HELLO, hello())
    n = [frame(NOTIFY, ROUTE, 1, i) for i in range(1, 21)]
    bye = frame(HAPROXY_DISCONNECT, disconnect(0, "bye"))
    return {
        "hello-notify-bye": session_seed(0, 0, h + n[0] + bye),
        "hello-notify-bytewise": session_seed(0, 1, h + n[0] + n[1]),
        "pipelined-20": session_seed(1, 0, b"".join(n)),
        "pipelined-20-deferred": session_seed(1 | 2, 7, b"".join(n)),
        "pipelined-deferred-outside": session_seed(1 | 2 | 4, 13, b"".join(n[:6])),
        "stop-while-ready": session_seed(1 | 32, 0, n[0] + n[1]),
        "stop-mid-frame": session_seed(1 | 32, 0, n[0] + n[1][:10]),
        "small-max-frame": session_seed(1 << 3, 0, h + frame(NOTIFY, message(
            "x" * 200, [("a", typed(STRING, "y" * 30))]), 1, 1)),
        "two-messages": session_seed(1, 3, frame(NOTIFY, ROUTE + SETTLE + message("", []), 3, 5)),
        "healthcheck": session_seed(0, 0, frame(HAPROXY_HELLO, hello(healthcheck=True)) + n[0]),
        "bad-version": session_seed(0, 0, frame(HAPROXY_HELLO, hello(versions="1.0"))),
        "bad-max-frame-size": session_seed(0, 0, frame(HAPROXY_HELLO, hello(max_frame_size=255))),
        "notify-before-hello": session_seed(0, 0, n[0]),
        "notify-without-fin": session_seed(1, 0, frame(NOTIFY, ROUTE, 1, 1, flags=0)),
        "notify-abort": session_seed(1, 0, frame(NOTIFY, ROUTE, 1, 1, flags=FIN | ABORT)),
        "zero-length": session_seed(1, 0, n[0] + b"\x00\x00\x00\x00"),
        "oversized": session_seed(1, 2, b"\x00\x00\x40\x00" + b"\x03"),
        "malformed-notify": session_seed(1, 0, frame(NOTIFY, lp("route") + b"\x03", 1, 1)),
        "unknown-type": session_seed(1, 0, frame(42, b"", 0, 0)),
        "second-hello": session_seed(1, 0, h),
    }


def write(target, seeds):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (directory, len(seeds)), file=sys.stderr)


if __name__ == "__main__":
    write("frame_decoder_fuzz", decoder_seeds())
    write("session_fuzz", session_seeds())
