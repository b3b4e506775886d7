#!/usr/bin/env python3
"""Writes the hand-made seed corpora for the FastCGI codec fuzzers.

Usage: tests/fuzz/make_corpus.py   (rewrites tests/fuzz/corpus/<target>/seed-*)
The outputs are committed; rerun this after changing it. Deterministic.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def record(rtype, rid, content=b"", padding=None, version=1, reserved=0):
    if padding is None:
        padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", version, rtype, rid, len(content), padding, reserved) + \
        content + b"\0" * padding


def length(n):
    return bytes([n]) if n <= 127 else struct.pack(">I", n | 0x80000000)


def pairs(items):
    return b"".join(length(len(k)) + length(len(v)) + k + v for k, v in items)


BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES, GET_VALUES_RESULT, UNKNOWN = range(1, 12)


def begin(rid, role=1, flags=0):
    return record(BEGIN, rid, struct.pack(">HB5x", role, flags))


NGINX_PARAMS = [
    (b"QUERY_STRING", b"a=1&b=2"), (b"REQUEST_METHOD", b"POST"),
    (b"CONTENT_TYPE", b"application/x-www-form-urlencoded"), (b"CONTENT_LENGTH", b"11"),
    (b"SCRIPT_NAME", b"/cgi-bin/env.cgi"), (b"REQUEST_URI", b"/cgi-bin/env.cgi?a=1&b=2"),
    (b"DOCUMENT_URI", b"/cgi-bin/env.cgi"), (b"DOCUMENT_ROOT", b"/srv/www"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"GATEWAY_INTERFACE", b"CGI/1.1"),
    (b"SERVER_SOFTWARE", b"nginx/1.22.1"), (b"REMOTE_ADDR", b"127.0.0.1"),
    (b"REMOTE_PORT", b"50432"), (b"SERVER_ADDR", b"127.0.0.1"), (b"SERVER_PORT", b"8080"),
    (b"SERVER_NAME", b"localhost"), (b"HTTP_HOST", b"localhost:8080"),
    (b"HTTP_USER_AGENT", b"curl/7.88.1"), (b"HTTP_ACCEPT", b"*/*"),
]

PARSER_SEEDS = {
    "nginx-request": begin(1) + record(PARAMS, 1, pairs(NGINX_PARAMS)) + record(PARAMS, 1) +
    record(STDIN, 1, b"hello=world") + record(STDIN, 1),
    "keepconn-two-requests": begin(1, flags=1) + record(PARAMS, 1, pairs([(b"A", b"1")])) +
    record(PARAMS, 1) + record(STDIN, 1) + begin(1, flags=1) + record(PARAMS, 1) + record(STDIN, 1),
    "get-values": record(GET_VALUES, 0, pairs([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b""),
                                              (b"FCGI_MPXS_CONNS", b"")])),
    "get-values-result": record(GET_VALUES_RESULT, 0, pairs([(b"FCGI_MAX_CONNS", b"16"),
                                                            (b"FCGI_MPXS_CONNS", b"1")])),
    "padded-255": record(STDIN, 1, b"abc", padding=255) + record(STDIN, 1, padding=255),
    "reserved-nonzero": record(STDOUT, 3, b"x", reserved=0xff),
    "version-2": record(STDIN, 1, b"v2", version=2),
    "truncated": begin(1)[:5],
    "multiplexed": begin(1) + begin(2, role=3) + record(PARAMS, 2) + record(PARAMS, 1) +
    record(STDIN, 2, b"two") + record(DATA, 2, b"data") + record(ABORT, 1) + record(STDIN, 2) +
    record(DATA, 2),
    "server-reply": record(STDOUT, 1, b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhi") +
    record(STDERR, 1, b"warning\n") + record(STDOUT, 1) + record(STDERR, 1) +
    record(END, 1, struct.pack(">IB3x", 0, 0)),
    "unknown-type": record(200, 0, b"?") + record(UNKNOWN, 0, bytes([200]) + b"\0" * 7),
    "authorizer-long-param": begin(1, role=2) + record(PARAMS, 1, pairs([(b"HTTP_X", b"y" * 300)])) +
    record(PARAMS, 1),
    "short-bodies": record(BEGIN, 1, b"\0\1") + record(END, 1, b"\0") + record(UNKNOWN, 0),
}

NAME_VALUE_SEEDS = {
    "nginx-params": pairs(NGINX_PARAMS),
    "long-lengths": pairs([(b"N" * 128, b"v"), (b"k", b"V" * 200)]),
    "non-canonical-4-byte": struct.pack(">II", 0x80000001, 0x80000000) + b"A",
    "empty-pairs": pairs([(b"", b""), (b"", b"")]),
    "get-values-names": pairs([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b"")]),
    "truncated-pair": pairs([(b"NAME", b"value")])[:-2],
    "huge-declared-length": b"\x01\xff\xff\xff\xffX",
}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fcgi_record_parser_fuzzer", PARSER_SEEDS)
    write("fcgi_name_value_fuzzer", NAME_VALUE_SEEDS)
