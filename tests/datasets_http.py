"""A loopback HTTP file server whose misbehaviour each test sets per path.

Used by tests/test_datasets_*.py: serves bytes with or without Range support,
can cut the connection after N bytes, answer an error status (always, or the
first k times), or trickle the body slowly. Every request's path and headers are
recorded in `server.requests`.

Where a test needs a request to be in a given state (unanswered, half sent), the
server holds it there until the test sets an Event or until enough requests are
held at once (a Barrier): the server decides, not the clock, so a loaded machine
only makes such a test slower, never wrong.
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
    stall: bool = False          # first request: no answer until `release` is set
    hold_after: int | None = None  # first response: pause after this many body bytes until `release`
    release: threading.Event = dataclasses.field(default_factory=threading.Event)
    barrier: threading.Barrier | None = None  # first request waits until the barrier's parties all wait
    delay: float = 0.0           # seconds between body blocks of `block` bytes
    block: int = 16384

# How long a held request waits at most: a test that never releases it fails, not hangs.
HOLD_LIMIT_S = 120


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
            route.stall = False
            route.release.wait(HOLD_LIMIT_S)
        if route.barrier is not None:
            barrier, route.barrier = route.barrier, None
            try:
                barrier.wait(HOLD_LIMIT_S)
            except threading.BrokenBarrierError:
                return self._plain(503, b"the other requests of the barrier never came")
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
        hold_at, route.hold_after = route.hold_after, None
        try:
            if hold_at is not None:
                self.wfile.write(body[:hold_at])
                self.wfile.flush()
                route.release.wait(HOLD_LIMIT_S)
                body = body[hold_at:]
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
