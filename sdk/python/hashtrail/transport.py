"""HTTP transport of the SDK: one persistent connection, JSON in and out,
problem+json errors, ``Retry-After``. Standard library only."""

from __future__ import annotations

import base64
import email.utils
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import __about__
from .errors import APIError

USER_AGENT = "hashtrail-python/" + __about__.VERSION


class NetworkError(Exception):
    """The server could not be reached or did not answer in time."""


class Response:
    """A server answer: status, headers and body bytes."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body.decode("utf-8"))

    def problem(self) -> Dict[str, Any]:
        """The body as an RFC 9457 problem (a made-up one when it is not)."""
        try:
            p = self.json()
            if isinstance(p, dict) and p.get("status"):
                return p
        except ValueError:
            pass
        text = self.body.decode("utf-8", "replace").strip()[:200]
        return {"status": self.status, "title": http.client.responses.get(self.status, ""), "detail": text}

    def error(self, **kw: Any) -> APIError:
        """An APIError for this (non-2xx) answer."""
        return APIError(self.status, self.problem(), **kw)

    def retry_after(self, now: Optional[float] = None) -> float:
        """The Retry-After header in seconds (0 when absent or invalid)."""
        return parse_retry_after(self.headers.get("retry-after", ""), now)


def parse_retry_after(v: str, now: Optional[float] = None) -> float:
    """Read a Retry-After value: seconds, or an HTTP date."""
    v = (v or "").strip()
    if not v:
        return 0.0
    if v.isdigit():
        return float(int(v))
    try:
        t = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):
        return 0.0
    if t is None:
        return 0.0
    return max(t.timestamp() - (time.time() if now is None else now), 0.0)


class Transport:
    """Sends requests to one server with one kept-alive connection per
    thread. Safe for concurrent use.

    ``proxy`` None follows the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``NO_PROXY``, as ``urllib`` reads them), never for a loopback host, like
    Go's ``http.ProxyFromEnvironment``; "" uses no proxy; a URL uses that
    proxy (``http://user:pass@proxy:3128``). ``ssl_context`` verifies the
    server's certificate (a private CA, a client certificate)."""

    def __init__(self, url: str, api_key: str, timeout: float = 10.0,
                 ssl_context: Optional[ssl.SSLContext] = None, user_agent: str = USER_AGENT,
                 proxy: Optional[str] = None) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("hashtrail: the server URL %r must be http(s)://host[:port]" % url)
        if not api_key:
            raise ValueError("hashtrail: an API key is required")
        self.base_url = url.rstrip("/")
        self._scheme = u.scheme
        self._host = u.hostname
        self._port = u.port
        self._prefix = u.path.rstrip("/")
        self._netloc = u.netloc.rsplit("@", 1)[-1]
        self._key = api_key
        self.timeout = timeout
        self._ssl = ssl_context
        self._ua = user_agent
        self._local = threading.local()
        # Every open connection with the thread that uses it, so that close()
        # closes them all and those of finished threads are closed too.
        self._conns: List[Tuple[threading.Thread, http.client.HTTPConnection]] = []
        self._conns_lock = threading.Lock()
        self._proxy = _env_proxy(u.scheme, u.hostname) if proxy is None else (
            urllib.parse.urlsplit(proxy) if proxy else None)
        self._proxy_auth: Dict[str, str] = {}
        if self._proxy is not None and self._proxy.username:
            cred = "%s:%s" % (urllib.parse.unquote(self._proxy.username),
                              urllib.parse.unquote(self._proxy.password or ""))
            self._proxy_auth["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()

    def _conn(self, timeout: float) -> http.client.HTTPConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            host, port = self._host, self._port
            if self._proxy is not None:
                host, port = self._proxy.hostname or "", self._proxy.port or 3128
            if self._scheme == "https":
                c = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                context=self._ssl or ssl.create_default_context())
                if self._proxy is not None:
                    c.set_tunnel(self._host, self._port, headers=self._proxy_auth or None)
            else:
                c = http.client.HTTPConnection(host, port, timeout=timeout)
            self._local.conn = c
            me = threading.current_thread()
            with self._conns_lock:
                dead = [pc for pc in self._conns if not pc[0].is_alive()]
                self._conns = [pc for pc in self._conns if pc[0].is_alive()] + [(me, c)]
            for _, d in dead:
                _close_quietly(d)
        c.timeout = timeout
        if c.sock is not None:
            c.sock.settimeout(timeout)
        return c

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        self._local.conn = None
        if c is not None:
            with self._conns_lock:
                self._conns = [pc for pc in self._conns if pc[1] is not c]
            _close_quietly(c)

    def close(self) -> None:
        """Close every connection (of every thread)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for _, c in conns:
            _close_quietly(c)
        self._local = threading.local()

    def abort(self) -> None:
        """Cut every connection, so that requests in flight on other threads
        fail at once (their events may still have been recorded)."""
        with self._conns_lock:
            conns = list(self._conns)
        for _, c in conns:
            sock = c.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def reset_after_fork(self) -> None:
        """Forget the parent's connections in a forked child (never used
        from two processes)."""
        self._local = threading.local()
        self._conns = []
        self._conns_lock = threading.Lock()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def request(self, method: str, path: str, *, params: Optional[Mapping[str, Any]] = None,
                body: Optional[bytes] = None, json_body: Any = None, timeout: Optional[float] = None,
                headers: Optional[Mapping[str, str]] = None, auth: bool = True) -> Response:
        """Send one request; raises NetworkError when no answer came."""
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        target = self._prefix + path
        if self._proxy is not None and self._scheme == "http":
            target = "http://%s%s" % (self._netloc, target)  # absolute form, for the proxy
        if params:
            q = [(k, _param(v)) for k, v in params.items() if v is not None]
            if q:
                target += ("&" if "?" in target else "?") + urllib.parse.urlencode(q)
        h = {"User-Agent": self._ua, "Accept": "application/json"}
        if auth:
            h["Authorization"] = "Bearer " + self._key
        if body is not None:
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        if self._proxy is not None and self._scheme == "http":
            h.update(self._proxy_auth)
        t = self.timeout if timeout is None else timeout
        # A kept-alive connection the server closed fails on first use: one
        # more try on a fresh connection (the request is idempotent by ids).
        for fresh in (False, True):
            if fresh:
                self._drop()
            conn = self._conn(t)
            reused = conn.sock is not None
            try:
                conn.request(method, target, body=body, headers=h)
                r = conn.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                self._drop()
                if reused and not fresh:
                    continue
                raise NetworkError(str(e) or type(e).__name__) from e
            except (OSError, http.client.HTTPException, socket.timeout) as e:
                self._drop()
                raise NetworkError(str(e) or type(e).__name__) from e
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if hdrs.get("connection", "").lower() == "close":
                self._drop()
            return Response(r.status, hdrs, data)
        raise NetworkError("unreachable")  # pragma: no cover

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """Send a request and return its JSON answer (None when empty);
        raises APIError for a non-2xx answer, NetworkError without one."""
        r = self.request(method, path, **kw)
        if r.status >= 300:
            raise r.error()
        if not r.body:
            return None
        ctype = r.headers.get("content-type", "")
        if "json" in ctype:
            return r.json()
        return r.body.decode("utf-8", "replace")


def _close_quietly(c: http.client.HTTPConnection) -> None:
    try:
        c.close()
    except OSError:
        pass


def _env_proxy(scheme: str, host: str) -> Optional[urllib.parse.SplitResult]:
    """The proxy the environment names for scheme://host, if any."""
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            return None
    proxies = urllib.request.getproxies()
    p = proxies.get(scheme)
    if not p or urllib.request.proxy_bypass(host):
        return None
    if "://" not in p:
        p = "http://" + p
    return urllib.parse.urlsplit(p)


def _param(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def quote(segment: str) -> str:
    """Escape one path segment."""
    return urllib.parse.quote(segment, safe="")


def split_answer(ans: Any) -> Tuple[Dict[int, List[Dict[str, Any]]], Dict[int, List[Dict[str, str]]]]:
    """An ingest answer as {index: [receipts]} and {index: field errors}."""
    receipts: Dict[int, List[Dict[str, Any]]] = {}
    rejected: Dict[int, List[Dict[str, str]]] = {}
    if isinstance(ans, dict):
        for r in ans.get("events") or []:
            receipts.setdefault(int(r.get("index", 0)), []).append(r)
        for r in ans.get("rejected") or []:
            rejected[int(r.get("index", 0))] = list(r.get("errors") or [])
    return receipts, rejected
