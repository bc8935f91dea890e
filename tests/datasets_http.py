"""A loopback HTTP file server whose misbehaviour each test sets per path.

Used by tests/test_datasets_*.py: serves bytes with or without Range support,
can cut the connection after N bytes, answer an error status (always, or the
first k times), stall before answering, or trickle the body slowly. Every
request's path and headers are recorded in `server.requests`.
"""
import dataclasses
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclasses.dataclass
class Route:
    data: bytes
    ranges: bool = True          # honour "Range: bytes=N-" (206) or ignore it (200)
    status: int | None = None    # answer this status (e.g. 404) instead of the data
    fail_first: int = 0          # answer 500 this many times, then behave
    cut_after: int | None = None  # close the connection after this many body bytes ...
    cuts: int = 1                # ... on this many requests
    stall: float = 0.0           # seconds to wait before the headers (first request only)
    delay: float = 0.0           # seconds between body blocks of `block` bytes
    block: int = 16384


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, dict(self.headers)))
        route = server.routes.get(self.path)
        if route is None:
            return self._plain(404, b"not found")
        if route.stall:
            stall, route.stall = route.stall, 0.0
            time.sleep(stall)
        if route.fail_first:
            route.fail_first -= 1
            return self._plain(500, b"try again")
        if route.status:
            return self._plain(route.status, b"no")
        data, start = route.data, 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and route.ranges:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if route.cut_after is not None and route.cuts > 0:
            route.cuts -= 1
            body = body[:route.cut_after]
            self.close_connection = True
            cut = True
        else:
            cut = False
        try:
            for i in range(0, len(body), route.block):
                self.wfile.write(body[i:i + route.block])
                self.wfile.flush()
                if route.delay:
                    time.sleep(route.delay)
        except (BrokenPipeError, ConnectionResetError):
            return
        if cut:
            self.connection.shutdown(socket.SHUT_RDWR)

    def _plain(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict]] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def requests_for(self, path: str) -> list[dict]:
        return [headers for p, headers in self.requests if p == path]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
