"""A scriptable stand-in for the Hashtrail ingest API (standard library
HTTP server), for the failure paths: 429/503 with Retry-After, answers lost
after the write, outages, slow answers. It keeps what it wrote per tenant,
deduplicating on id like the real server, and every request it received."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

VALID_SEVERITIES = {"info", "low", "medium", "high", "critical"}


class FakeServer:
    def __init__(self, port: int = 0, tls: Optional[Tuple[str, str]] = None) -> None:
        self.lock = threading.Lock()
        self.script: List[Any] = []  # per request: (status, headers, body), "lost", "drop", or a callable
        self.requests: List[Dict[str, Any]] = []
        self.logs: Dict[str, List[Dict[str, Any]]] = {}
        self.ids: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.gate: Optional[threading.Event] = None  # when set, requests wait for it
        self.delay = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                outer._handle(self, body)

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        if tls is not None:  # (certfile, keyfile): serve HTTPS
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.url = "https://localhost:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *items: Any) -> None:
        with self.lock:
            self.script.extend(items)

    def events(self, tenant: str) -> List[Dict[str, Any]]:
        with self.lock:
            return list(self.logs.get(tenant, []))

    def all_events(self) -> List[Dict[str, Any]]:
        with self.lock:
            return [e for log in self.logs.values() for e in log]

    def _handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        raw = h.path
        if raw.startswith("http://"):  # absolute form: we are being used as a proxy
            h.path = "/" + raw.split("/", 3)[3]
        with self.lock:
            self.requests.append({"path": h.path, "raw_path": raw, "body": body,
                                  "auth": h.headers.get("Authorization"),
                                  "proxy_auth": h.headers.get("Proxy-Authorization"), "time": time.monotonic()})
            step = self.script.pop(0) if self.script else None
        if self.gate is not None:  # received, then held
            self.gate.wait(30)
        if self.delay:
            time.sleep(self.delay)
        if callable(step):
            step = step(h, body)
        if step == "drop":  # the connection dies before any answer
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        if isinstance(step, tuple):
            status, headers, payload = step
            self._send(h, status, headers, payload)
            return
        status, answer = self._ingest(h.path, body)
        if step == "lost":  # written, then the answer is lost
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        self._send(h, status, {}, answer)

    def _send(self, h: BaseHTTPRequestHandler, status: int, headers: Dict[str, str], payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json" if status < 300 else "application/problem+json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _ingest(self, path: str, body: bytes) -> Tuple[int, Any]:
        doc = json.loads(body)
        evs = doc["events"] if isinstance(doc, dict) and "events" in doc else [doc]
        partial = "partial=true" in path
        path_tenant = None
        if path.startswith("/v1/tenants/"):
            path_tenant = path.split("/")[3]
        out, rejected = [], []
        if any(ev.get("action") == "too.large" for ev in evs):
            return 413, {"status": 413, "code": "too_large", "title": "Payload Too Large",
                         "detail": "an event is larger than 1 MiB"}
        with self.lock:
            for i, ev in enumerate(evs):
                errs = []
                if ev.get("severity") and ev["severity"] not in VALID_SEVERITIES:
                    errs.append({"field": "events[%d].severity" % i, "message": "must be one of info, low, medium, high, critical"})
                tenants = ev.get("tenants") or [ev.get("tenant") or path_tenant]
                if errs:
                    rejected.append({"index": i, "errors": errs})
                    continue
                for t in tenants:
                    key = (t, ev["id"])
                    if key in self.ids:
                        prev = self.ids[key]
                        if prev["_body"] != json.dumps(ev, sort_keys=True):
                            return 409, {"status": 409, "code": "conflict", "title": "Conflict",
                                         "detail": "id reused with other content"}
                        out.append(dict(prev["_receipt"], index=i))
                        continue
                    log = self.logs.setdefault(t, [])
                    r = {"index": i, "tenant": t, "id": ev["id"], "seq": len(log),
                         "received_at": "2026-01-01T00:00:00.000000Z", "leaf_hash": "00" * 32}
                    stored = dict(ev, tenant=t, seq=len(log))
                    stored["_body"] = json.dumps(ev, sort_keys=True)
                    stored["_receipt"] = r
                    log.append(stored)
                    self.ids[key] = stored
                    out.append(r)
        if rejected and not partial:
            return 400, {"status": 400, "code": "invalid", "errors": [e for r in rejected for e in r["errors"]]}
        ans: Dict[str, Any] = {"events": out}
        if rejected:
            ans["rejected"] = rejected
        return 200, ans


def problem(status: int, code: str, retry_after: Optional[str] = None) -> Tuple[int, Dict[str, str], Dict[str, Any]]:
    """A scripted error answer."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return status, headers, {"type": "about:blank", "title": code, "status": status, "code": code,
                             "detail": "scripted " + code, "request_id": "req-1"}


def free_port() -> int:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()
