"""ClickHouse's HTTP interface over chDB, for tests only.

No modern clickhouse-server can be installed on the machines the tests run on; chDB
(PyPI `chdb-core`) is the ClickHouse engine itself, in process, with persistent on-disk
databases. This front-end serves the part of the HTTP interface that Tether's client (the
`clickhouse` crate) uses, and nothing more:

- `GET|POST /ping` (and `/`) answer `Ok.`;
- `POST /` runs the SQL in the body, or in the `query` URL parameter followed by the body
  (as the real server concatenates them); `database` and `default_format` are URL parameters;
  any other URL parameter is a setting, applied for that request only;
- an `INSERT … FORMAT <fmt>` in the `query` parameter streams the body through chDB's insert
  API (data inline after `FORMAT RowBinary` would lose a leading whitespace byte);
- errors answer 500 with `X-ClickHouse-Exception-Code` and ClickHouse's message as body;
- request bodies in ClickHouse's compressed framing (`decompress=1`, the crate's LZ4
  default) are decoded (LZ4 or uncompressed blocks; checksums are not verified, as the
  real server does); responses are sent uncompressed (no `Content-Encoding`), which the
  client accepts as a real server with `enable_http_compression=0` would send them.

chDB runs one query at a time here (a lock around the session): simple, and the engine is
not documented as safe for concurrent use of one session.

Usage: chdb_http.py DATA_DIR PORT_FILE — listens on a free 127.0.0.1 port and writes it to
PORT_FILE once ready.
"""

import http.server
import os
import re
import struct
import socket
import sys
import threading
import urllib.parse

import lz4.block
from chdb import session

# URL parameters that are not settings.
NOT_SETTINGS = {"query", "database", "default_format", "query_id", "session_id", "user", "password"}
INSERT = re.compile(r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
ERROR_CODE = re.compile(r"Code:\s*(\d+)")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SETTING_VALUE = re.compile(r"^[A-Za-z0-9_.\-]*$")


def decompress(body):
    """Blocks of ClickHouse's compressed framing: a 16-byte checksum, a method byte (0x82 LZ4,
    0x02 none), the block's size with its 9-byte header, the uncompressed size, the data."""
    out, at = [], 0
    while at < len(body):
        method, size, raw_size = struct.unpack_from("<BII", body, at + 16)
        data = body[at + 25:at + 16 + size]
        if method == 0x82:
            out.append(lz4.block.decompress(data, uncompressed_size=raw_size))
        elif method == 0x02:
            out.append(data)
        else:
            raise ValueError(f"Code: 271. DB::Exception: unknown compression method {method:#x}. "
                             "(CANNOT_DECOMPRESS)")
        at += 16 + size
    return b"".join(out)


class Engine:
    def __init__(self, path):
        self.session = session.Session(path)
        self.lock = threading.Lock()

    def run(self, params, body):
        """Runs one request; returns the response bytes or raises chDB's error."""
        sql = params.get("query", "")
        settings = {k: v for k, v in params.items() if k not in NOT_SETTINGS}
        if settings.pop("decompress", None) == "1":
            body = decompress(body)
        if settings.pop("compress", None) == "1":
            raise ValueError("Code: 1. DB::Exception: this test front-end sends no compressed responses. "
                             "(UNSUPPORTED_METHOD)")
        for name, value in settings.items():
            if not SETTING_NAME.match(name) or not SETTING_VALUE.match(value):
                raise ValueError(f"Code: 115. DB::Exception: unsupported setting {name!r}. (UNKNOWN_SETTING)")
        with self.lock:
            try:
                self.session.query(f"USE `{params.get('database', 'default')}`")
                for name, value in settings.items():
                    self.session.query(f"SET {name} = '{value}'")
                insert = INSERT.match(sql) if sql else None
                if insert:
                    inserter = self.session.send_insert(insert.group(1), insert.group(2))
                    if body:
                        inserter.append(body)
                    inserter.finish()
                    return b""
                text = (sql + "\n" + body.decode()) if sql and body else (sql or body.decode())
                result = self.session.query(text, params.get("default_format", "TabSeparated"))
                return result.bytes() if result is not None else b""
            finally:
                for name in settings:
                    self.session.query(f"SET {name} = DEFAULT")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # As ClickHouse's own server does: without it, an answer's body waits behind its
        # headers for the client's delayed ACK (~40 ms per query on Linux), which a real
        # server never adds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/", "/ping"):
            self.answer(200, b"Ok.\n")
        else:
            self.answer(404, b"Code: 1. DB::Exception: no such handler. (UNSUPPORTED_METHOD)\n", "1")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        body = self.read_body()
        if url.path == "/ping":
            return self.answer(200, b"Ok.\n")
        try:
            self.answer(200, self.server.engine.run(params, body))
        except Exception as e:  # chDB raises its own error type with ClickHouse's message
            message = str(e)
            code = ERROR_CODE.search(message)
            self.answer(500, message.encode() + b"\n", code.group(1) if code else "1000")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self, status, payload, code=None):
        self.send_response(status)
        if code is not None:
            self.send_header("X-ClickHouse-Exception-Code", code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main():
    data_dir, port_file = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.engine = Engine(data_dir)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
