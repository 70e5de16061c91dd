"""The HTTP endpoint a phone pushes to: token check, size limits, one line per refusal.

Built on the standard library's `http.server` (`ThreadingHTTPServer`, HTTP/1.1 with keep-alive):
one endpoint, one client, bodies of a bounded size; it needs nothing a dependency would add.
Every request is answered and the server keeps running whatever arrives:

| request | answer | stored |
| --- | --- | --- |
| POST without the token (query `?token=` or `Authorization: Bearer`) | 401, connection closed | no |
| POST with a wrong token | 403, connection closed | no |
| POST without `Content-Length` (chunked) | 411, connection closed | no |
| POST larger than `max_body_bytes` | 413, connection closed, body not read | no |
| POST with the token | what `on_body(body, host_time_ns)` says: 200, 400 (not a message), 409 (another phone), 503 (not recording), 507 (disk) | yes (by `on_body`) |
| GET with the token | 200 and one line of text (check the address from the phone's browser) | no |
| anything else | 405 | no |

Refusals are counted (`ServerStats`) and logged as one line each, the first few of a kind and
then at most one per `log_interval_s` with the count since the last line. The token is compared
in constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracker.errors import ListenError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""4 MiB: a 10 s batch of accelerometer, gravity and gyroscope at 200 Hz is under 1 MiB."""
IDLE_TIMEOUT_S = 30.0
"""A connection that sends nothing for this long (an idle keep-alive, a stalled body) is closed."""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

BodyHandler = Callable[[bytes, int], tuple[int, str]]
"""(raw body, host receive time ns) -> (HTTP status, one-line answer)."""


@dataclass
class ServerStats:
    """What the endpoint answered (counters since it started)."""

    accepted: int = 0
    """Bodies handed on (whatever `on_body` then made of them)."""
    missing_token: int = 0
    wrong_token: int = 0
    too_large: int = 0
    no_length: int = 0
    cut_short: int = 0
    """Bodies whose sender closed the connection before all of it came."""
    other: int = 0
    """Other methods, unreadable requests."""

    @property
    def refused(self) -> int:
        return self.missing_token + self.wrong_token + self.too_large + self.no_length + self.cut_short + self.other

    def to_json(self) -> dict[str, int]:
        return {**asdict(self), "refused": self.refused}


class _Limiter:
    """One log line per refusal: the first `first` of a kind, then one per `interval_s`."""

    def __init__(self, first: int = 3, interval_s: float = 30.0) -> None:
        self.first, self.interval_s = first, interval_s
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def warn(self, kind: str, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            seen = self._seen[kind] = self._seen.get(kind, 0) + 1
            last = self._last.get(kind)
            if seen > self.first and last is not None and now - last < self.interval_s:
                self._quiet[kind] = self._quiet.get(kind, 0) + 1
                return
            quiet = self._quiet.pop(kind, 0)
            self._last[kind] = now
        more = f"; {quiet} more like it since the last note" if quiet else ""
        log.warning("%s (%d so far%s)", text, seen, more)


class PushServer:
    """Listens for a phone's pushes in a background thread; see the module docstring."""

    def __init__(
        self,
        on_body: BodyHandler,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        token: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        log_interval_s: float = 30.0,
    ) -> None:
        self.on_body = on_body
        self.host = host
        self.token = token
        self.max_body_bytes = int(max_body_bytes)
        self.clock_ns = clock_ns
        self.stats = ServerStats()
        self.limiter = _Limiter(interval_s=log_interval_s)
        self._lock = threading.Lock()
        try:
            self._httpd = _Server((host, port), _handler_for(self))
        except socket.gaierror as exc:
            raise ListenError(f"cannot listen on {host!r}: {exc.strerror}", hint="give --listen an address of this computer, e.g. 0.0.0.0 for every network") from exc
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise ListenError(f"port {port} is already in use on {host}", hint="choose another with --port N (and put it in the app's URL)") from exc
            raise ListenError(f"cannot listen on {host} port {port}: {exc.strerror or exc}", hint="choose another --port, or an address of this computer with --listen") from exc
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="phone-push-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening (requests in flight get their answer or a closed connection)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5.0)
            self._thread = None
        self._httpd.server_close()

    def count(self, field: str, text: str) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)
        self.limiter.warn(field, text)

    def accepted(self) -> None:
        with self._lock:
            self.stats.accepted += 1

    def url_for(self, address: str | None = None) -> str:
        """The URL to type into the app, token included."""
        host = address or display_address(self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/push?token={self.token}"

    def token_problem(self, path: str, authorization: str | None) -> str | None:
        """None when the request carries the token; else "missing_token" or "wrong_token"."""
        given = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("token", [None])[-1]
        if given is None and authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if not given:
            return "missing_token"
        return None if hmac.compare_digest(given.encode(), self.token.encode()) else "wrong_token"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler_for(server: PushServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_PushHandler):
        push = server

    return Handler


class _PushHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK wait
    server_version = "tracker-phone"
    sys_version = ""
    push: PushServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  the stdlib's name
        log.debug("%s: " + format, self.client_address[0], *args)

    def _answer(self, status: int, text: str, *, close: bool = False) -> None:
        data = (text + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        problem = self.push.token_problem(self.path, self.headers.get("Authorization"))
        if problem is None:
            return True
        who = self.client_address[0]
        if problem == "missing_token":
            self.push.count(problem, f"refused a push from {who} without the token (not stored)")
            self._answer(401, "the URL needs tracker's token: copy the whole URL tracker printed", close=True)
        else:
            self.push.count(problem, f"refused a push from {who} with a wrong token (not stored)")
            self._answer(403, "wrong token: copy the URL tracker printed for this recording", close=True)
        return False

    def do_GET(self) -> None:  # noqa: N802  the stdlib's name
        if self._authorised():
            self._answer(200, "tracker is listening: use this URL as Sensor Logger's HTTP Push URL")

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.push.count("no_length", f"refused a push from {self.client_address[0]} without a Content-Length (not stored)")
            self._answer(411, "a Content-Length is needed", close=True)
            return
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self.push.count("other", f"refused a push from {self.client_address[0]} with a Content-Length of {length_text[:20]!r} (not stored)")
            self._answer(400, "unreadable Content-Length", close=True)
            return
        if length > self.push.max_body_bytes:
            self.push.count(
                "too_large",
                f"refused a push of {length} bytes from {self.client_address[0]} (at most {self.push.max_body_bytes}; not stored): "
                "set a shorter batch period in the app",
            )
            self._answer(413, f"at most {self.push.max_body_bytes} bytes: set a shorter batch period", close=True)
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.push.count("cut_short", f"a push from {self.client_address[0]} broke off after {len(body)} of {length} bytes (not stored)")
            self.close_connection = True
            return
        t_ns = self.push.clock_ns()
        self.push.accepted()
        status, text = self.push.on_body(body, t_ns)
        self._answer(status, text, close=status >= 500)

    def _refuse_method(self) -> None:
        self.push.count("other", f"refused a {self.command} request from {self.client_address[0]}")
        self._answer(405, "only POST (Sensor Logger's HTTP Push)", close=True)

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method  # noqa: N815


def display_address(host: str) -> str:
    """The address a phone types for a listening address: this computer's address on its local
    network for a wildcard (0.0.0.0, ::), the address itself otherwise."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: it only picks the route
        return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostname()
    finally:
        probe.close()


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.")
