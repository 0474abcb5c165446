# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Loopback HTTP server for the offline conda world: TEST INFRASTRUCTURE ONLY.

Serves a directory tree (the world root: channels, ``pypi/``, ``installers/``)
on 127.0.0.1 only, with optional conda-style token auth or HTTP basic auth and
a JSON-lines access log. Standard library only.

    with Server(root, port=0, token=None, basic=None, log_path=None) as srv:
        srv.url, srv.port, srv.log_path, srv.channel_url("conda-forge")
        srv.count("repodata.json"), srv.requests()

CLI::

    python tests/world/server.py --root DIR [--port N] [--token T | --basic U:P]
        --log FILE [--pidfile F] [--portfile F] [--daemon] [--lifetime S]
    python tests/world/server.py --stop --pidfile F

Auth modes:

- none: every GET/HEAD is served.
- token: ``/t/<TOKEN>/<path>`` (conda style), or ``Authorization: Bearer <TOKEN>``,
  or ``?token=<TOKEN>``. No token: 401; wrong token: 403.
- basic: ``Authorization: Basic base64(user:password)``; otherwise 401 with
  ``WWW-Authenticate: Basic realm="condafleet-world"``.

Log lines: ``{"time", "method", "path", "status", "bytes", "auth_ok"}`` where
``path`` has the token masked (``/t/***/``, ``token=***``).
"""
from __future__ import annotations

import argparse
import base64
import datetime
import email.utils
import hmac
import html
import json
import mimetypes
import os
import posixpath
import re
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
REALM = "condafleet-world"
MAX_CONCURRENT = 64
_TOKEN_PATH = re.compile(r"^/t/([^/?#]*)")
_TOKEN_QUERY = re.compile(r"(^|[?&])token=[^&#]*")


def mask(path):
    """The request path with any token masked."""
    path = _TOKEN_PATH.sub("/t/***", path)
    return _TOKEN_QUERY.sub(lambda m: m.group(1) + "token=***", path)


def read_log(log_path):
    """The access log entries (dicts) of ``log_path``, oldest first."""
    entries = []
    try:
        with open(log_path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line:
                    try:
                        entries.append(json.loads(line))
                    except ValueError:
                        pass
    except FileNotFoundError:
        pass
    return entries


def count_requests(log_path, substr="", status=None, method=None):
    """How many logged requests have ``substr`` in their (masked) path."""
    return sum(1 for e in read_log(log_path)
               if substr in e.get("path", "")
               and (status is None or e.get("status") == status)
               and (method is None or e.get("method") == method))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, world):
        self.world = world
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        super().__init__(addr, handler)

    def process_request_thread(self, request, client_address):
        with self._slots:
            super().process_request_thread(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "condafleet-world/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - silence stderr logging
        pass

    # -- plumbing -------------------------------------------------------
    def _finish(self, status, body=b"", headers=None, head=False, auth_ok=True):
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        # Log before the (buffered) headers go out, so that a client that has
        # its answer always finds the request in the log.
        self._log(status, len(body) if body and not head else 0, auth_ok)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _log(self, status, sent, auth_ok):
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "method": self.command,
            "path": mask(self.path),
            "status": int(status),
            "bytes": sent,
            "auth_ok": auth_ok,
        }
        self.server.world._append_log(entry)

    def _error(self, status, message, head=False, auth_ok=True, headers=None):
        body = ("%d %s\n" % (status, message)).encode()
        hdrs = {"Content-Type": "text/plain; charset=utf-8"}
        hdrs.update(headers or {})
        self._finish(status, body, hdrs, head=head, auth_ok=auth_ok)

    # -- auth -----------------------------------------------------------
    def _authorize(self, path, query):
        """Return (ok, status, strip_prefix, extra_headers)."""
        world = self.server.world
        if world.token is not None:
            given = None
            strip = ""
            m = _TOKEN_PATH.match(path)
            if m:
                given = urllib.parse.unquote(m.group(1))
                strip = m.group(0)
            else:
                auth = self.headers.get("Authorization", "")
                if auth.lower().startswith("bearer "):
                    given = auth[7:].strip()
                elif "token" in query:
                    given = query["token"][0]
            if given is None:
                return False, HTTPStatus.UNAUTHORIZED, strip, {}
            if not hmac.compare_digest(given.encode(), world.token.encode()):
                return False, HTTPStatus.FORBIDDEN, strip, {}
            return True, None, strip, {}
        if world.basic is not None:
            auth = self.headers.get("Authorization", "")
            challenge = {"WWW-Authenticate": 'Basic realm="%s"' % REALM}
            if not auth.lower().startswith("basic "):
                return False, HTTPStatus.UNAUTHORIZED, "", challenge
            try:
                given = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return False, HTTPStatus.UNAUTHORIZED, "", challenge
            if not hmac.compare_digest(given.encode(), world.basic.encode()):
                return False, HTTPStatus.UNAUTHORIZED, "", challenge
        return True, None, "", {}

    # -- methods --------------------------------------------------------
    def do_GET(self):
        self._serve(head=False)

    def do_HEAD(self):
        self._serve(head=True)

    def _not_allowed(self):
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed",
                    headers={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _serve(self, head):
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        ok, status, strip, extra = self._authorize(parsed.path, query)
        if not ok:
            self._error(status, HTTPStatus(status).phrase, head=head, auth_ok=False, headers=extra)
            return
        urlpath = parsed.path[len(strip):] or "/"
        rel = posixpath.normpath(urllib.parse.unquote(urlpath))
        parts = [p for p in rel.split("/") if p and p != "."]
        if ".." in parts:
            self._error(HTTPStatus.FORBIDDEN, "forbidden", head=head)
            return
        full = os.path.join(self.server.world.root, *parts)
        if os.path.isdir(full):
            if not urlpath.endswith("/"):
                location = parsed.path + "/" + ("?" + parsed.query if parsed.query else "")
                self._finish(HTTPStatus.MOVED_PERMANENTLY, b"", {"Location": location}, head=head)
                return
            index = os.path.join(full, "index.html")
            if os.path.isfile(index):
                full = index
            else:
                self._listing(full, urlpath, head)
                return
        if not os.path.isfile(full):
            self._error(HTTPStatus.NOT_FOUND, "not found", head=head)
            return
        self._file(full, head)

    def _listing(self, directory, urlpath, head):
        names = sorted(os.listdir(directory))
        items = []
        for name in names:
            if name.startswith("."):
                continue
            disp = name + ("/" if os.path.isdir(os.path.join(directory, name)) else "")
            items.append('<li><a href="%s">%s</a></li>' % (urllib.parse.quote(disp), html.escape(disp)))
        body = ("<!DOCTYPE html>\n<html><head><title>Index of %s</title></head><body>\n"
                "<h1>Index of %s</h1>\n<ul>\n%s\n</ul>\n</body></html>\n"
                % (html.escape(urlpath), html.escape(urlpath), "\n".join(items))).encode()
        self._finish(HTTPStatus.OK, body, {"Content-Type": "text/html; charset=utf-8"}, head=head)

    def _file(self, full, head):
        st = os.stat(full)
        size = st.st_size
        etag = '"%x-%x"' % (int(st.st_mtime), size)
        ctype = mimetypes.guess_type(full)[0] or "application/octet-stream"
        if full.endswith(".json"):
            ctype = "application/json"
        headers = {
            "Content-Type": ctype,
            "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True),
            "ETag": etag,
            "Accept-Ranges": "bytes",
        }
        if self.headers.get("If-None-Match") == etag:
            headers["Content-Length"] = "0"
            self._finish(HTTPStatus.NOT_MODIFIED, b"", headers, head=True)
            return
        start, end = 0, size - 1
        status = HTTPStatus.OK
        rng = self.headers.get("Range")
        if rng:
            m = re.match(r"^\s*bytes=(\d*)-(\d*)\s*$", rng)
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(0, size - int(m.group(2)))
                if start >= size or start > end:
                    headers["Content-Range"] = "bytes */%d" % size
                    self._error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                                "range not satisfiable", head=head, headers=headers)
                    return
                status = HTTPStatus.PARTIAL_CONTENT
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        length = end - start + 1 if size else 0
        headers["Content-Length"] = str(length)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self._log(status, 0 if head else length, True)
        self.end_headers()
        if not head and length:
            with open(full, "rb") as fh:
                fh.seek(start)
                remaining = length
                while remaining:
                    chunk = fh.read(min(65536, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)


class Server:
    """A loopback HTTP server of ``root``; a context manager (TEST INFRASTRUCTURE).

    ``token``: conda-style token auth; ``basic``: ``"user:password"``.
    ``log_path``: JSON-lines access log (a temporary file when None).
    """

    def __init__(self, root, port=0, token=None, basic=None, log_path=None):
        if token is not None and basic is not None:
            raise ValueError("token and basic auth are exclusive")
        if basic is not None and ":" not in basic:
            raise ValueError("basic must be 'user:password'")
        self.root = os.path.abspath(root)
        self.token = token
        self.basic = basic
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix="world-server-", suffix=".log")
            os.close(fd)
        self.log_path = os.path.abspath(log_path)
        self._requested_port = int(port)
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    # -- lifecycle --------------------------------------------------------
    def bind(self):
        if self._httpd is None:
            self._httpd = _HTTPServer((HOST, self._requested_port), _Handler, self)
        return self

    def start(self):
        self.bind()
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            name="world-server", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self):
        self.bind()
        self._httpd.serve_forever()

    def stop(self):
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join(10)
            self._httpd.server_close()
            self._httpd = None
            self._thread = None

    def shutdown(self):
        """Stop serve_forever() from another thread (used by the CLI)."""
        if self._httpd is not None:
            self._httpd.shutdown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- addresses --------------------------------------------------------
    @property
    def port(self):
        self.bind()
        return self._httpd.server_address[1]

    @property
    def url(self):
        return "http://%s:%d" % (HOST, self.port)

    def channel_url(self, name, credentials=True):
        """URL of ``name`` (a channel or any path under root) with auth when configured."""
        if self.token is not None and credentials:
            return "%s/t/%s/%s" % (self.url, self.token, name)
        if self.basic is not None and credentials:
            user, _sep, password = self.basic.partition(":")
            return "http://%s:%s@%s:%d/%s" % (
                urllib.parse.quote(user, safe=""), urllib.parse.quote(password, safe=""),
                HOST, self.port, name)
        return "%s/%s" % (self.url, name)

    # -- log --------------------------------------------------------------
    def _append_log(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(line)

    def requests(self):
        """Logged requests (dicts), oldest first."""
        with self._lock:
            return read_log(self.log_path)

    def count(self, substr="", status=None, method=None):
        """How many logged requests have ``substr`` in their (masked) path."""
        return sum(1 for e in self.requests()
                   if substr in e.get("path", "")
                   and (status is None or e.get("status") == status)
                   and (method is None or e.get("method") == method))


# ------------------------------------------------------------------------ CLI
def _is_our_server(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return b"server.py" in fh.read()
    except OSError:
        return False


def stop(pidfile, timeout=10.0):
    """Stop the daemon whose pid is in ``pidfile``; True if one was stopped."""
    try:
        with open(pidfile) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return False
    stopped = False
    if _is_our_server(pid):
        try:
            os.kill(pid, signal.SIGTERM)
            stopped = True
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    return stopped


def _write(path, text):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="condafleet test world loopback HTTP server")
    ap.add_argument("--root", help="directory to serve")
    ap.add_argument("--port", type=int, default=0, help="port (0 = random)")
    auth = ap.add_mutually_exclusive_group()
    auth.add_argument("--token", help="require conda-style token /t/TOKEN/...")
    auth.add_argument("--basic", metavar="USER:PASSWORD", help="require HTTP basic auth")
    ap.add_argument("--log", help="JSON-lines access log file")
    ap.add_argument("--pidfile", help="write the server pid here")
    ap.add_argument("--portfile", help="write the bound port here")
    ap.add_argument("--daemon", action="store_true", help="detach into the background")
    ap.add_argument("--lifetime", type=float, default=None,
                    help="stop after this many seconds (default: forever; 21600 with --daemon)")
    ap.add_argument("--stop", action="store_true", help="stop the server of --pidfile")
    args = ap.parse_args(argv)

    if args.stop:
        if not args.pidfile:
            ap.error("--stop needs --pidfile")
        print(json.dumps({"stopped": stop(args.pidfile)}))
        return 0
    if not args.root or not args.log:
        ap.error("--root and --log are required")
    if not os.path.isdir(args.root):
        ap.error("--root %s is not a directory" % args.root)
    lifetime = args.lifetime if args.lifetime is not None else (21600.0 if args.daemon else 0.0)

    srv = Server(args.root, port=args.port, token=args.token, basic=args.basic,
                 log_path=args.log).bind()
    info = {"url": srv.url, "port": srv.port, "log": srv.log_path}

    if args.daemon:
        rfd, wfd = os.pipe()
        if os.fork():
            os.close(wfd)
            with os.fdopen(rfd) as pipe:
                pid = pipe.read().strip()
            if not pid:
                print("server failed to start", file=sys.stderr)
                return 1
            info["pid"] = int(pid)
            print(json.dumps(info, sort_keys=True))
            return 0
        os.close(rfd)
        os.setsid()
        if os.fork():
            os._exit(0)
        os.chdir("/")
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    pid = os.getpid()
    if args.pidfile:
        _write(args.pidfile, "%d\n" % pid)
    if args.portfile:
        _write(args.portfile, "%d\n" % srv.port)

    def _term(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    if lifetime > 0:
        timer = threading.Timer(lifetime, srv.shutdown)
        timer.daemon = True
        timer.start()
    if args.daemon:
        os.write(wfd, b"%d\n" % pid)
        os.close(wfd)
    else:
        info["pid"] = pid
        print(json.dumps(info, sort_keys=True), flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.stop()
        if args.pidfile:
            try:
                with open(args.pidfile) as fh:
                    if fh.read().strip() == str(pid):
                        os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
