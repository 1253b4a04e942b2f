"""`build.py serve`: a live preview that updates the open page and survives mistakes.

One long-lived process keeps one Builder (warm Jinja environment, Markdown
parser and every cache) and serves the last good site from memory. A fast
native watcher (watchfiles) reports changes; bursts of saves coalesce into
one rebuild; the browser is told to reload (or, for a stylesheet, to swap
it in) over Server-Sent Events only after the new site is in place. A
failed rebuild replaces every HTML page with the error list until it is
fixed; the server never stops for a content mistake.
"""

from __future__ import annotations

import errno
import gc
import html
import ipaddress
import mimetypes
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote

from .config import load_config
from .errors import BuildFailed, Location, Problems
from .pipeline import Builder, BuildResult, collector_paused
from .sealed import try_user_key

CLIENT_PATH = "/__factsite/client.js"
EVENTS_PATH = "/__factsite/events"

CLIENT_JS = """(function () {
  "use strict";
  // Live preview client: on each new build, fetch this page again and swap the
  // body in place (no navigation, scroll kept); reload fully when the head's
  // styles differ (e.g. between a page and the error page).
  var me = document.currentScript;
  var epoch = me ? me.getAttribute("data-epoch") : null;
  var source = new EventSource("%s");
  function styles(doc) {
    return Array.prototype.map.call(doc.querySelectorAll('link[rel="stylesheet"], style'),
      function (el) { return el.outerHTML; }).join("");
  }
  function refresh(next) {
    fetch(location.href, { cache: "no-store" }).then(function (response) {
      return response.text();
    }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      if (styles(doc) !== styles(document)) { location.reload(); return; }
      var x = window.scrollX, y = window.scrollY;
      document.title = doc.title;
      document.body.replaceWith(document.adoptNode(doc.body));
      window.scrollTo(x, y);
      epoch = next;
    }).catch(function () { location.reload(); });
  }
  function check(event) {
    if (event.data !== epoch) { refresh(event.data); }
  }
  source.addEventListener("hello", check);
  source.addEventListener("reload", check);
  source.addEventListener("css", function (event) {
    epoch = event.data;
    document.querySelectorAll('link[rel="stylesheet"]').forEach(function (link) {
      var url = new URL(link.href);
      url.searchParams.set("preview", epoch);
      link.href = url.toString();
    });
  });
})();
""" % EVENTS_PATH


class PreviewState:
    """The site being served and the build epoch, shared by the watcher and the server."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.files: dict[str, bytes] = {}
        self.problems: Problems | None = None
        self.epoch = 0
        self.event = "reload"
        self.stopping = False

    def publish(self, files: dict[str, bytes] | None, problems: Problems | None, event: str) -> None:
        with self.lock:
            if files is not None:
                self.files = files
            self.problems = problems
            self.epoch += 1
            self.event = event
            self.lock.notify_all()


def error_page(problems: Problems, epoch: int) -> bytes:
    items = "\n".join(
        f"<li><code>{html.escape(str(p.location))}</code> <strong>{p.severity}</strong>: "
        f"{html.escape(p.message)}{'<br><em>hint: ' + html.escape(p.hint) + '</em>' if p.hint else ''}</li>"
        for p in problems.sorted())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Build error</title>
<style>body{{font:1rem/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24}}
h1{{color:#b42318}}li{{margin:.75rem 0}}code{{background:#f3f4f6;padding:.1rem .3rem}}</style></head>
<body><main><h1>The site could not be built</h1>
<p>{html.escape(problems.summary())}. Fix the file and save: this page reloads by itself.</p>
<ol class="problems">{items}</ol></main>
<script src="{CLIENT_PATH}" data-epoch="{epoch}"></script></body></html>""".encode()


def inject_client(page: bytes, epoch: int) -> bytes:
    tag = f'<script src="{CLIENT_PATH}" data-epoch="{epoch}"></script>'.encode()
    at = page.rfind(b"</body>")
    return page[:at] + tag + page[at:] if at >= 0 else page + tag


_HOST = re.compile(r"(?:\[([0-9a-fA-F:.]+)\]|([^\[\]:,\s/]+))(?::[0-9]{1,5})?")


def host_allowed(header: str | None, listening: str) -> bool:
    """Is a request's Host header one of the preview's own names? A page on another site
    can point its own host name at 127.0.0.1 (DNS rebinding) and read the drafts the
    preview serves; its requests carry that name. Allowed: the address the preview
    listens on, localhost names, and addresses written as IP literals (no name to rebind).
    (With --host 0.0.0.0, open it by the machine's address, not by a name.)"""
    match = _HOST.fullmatch((header or "").strip())
    if match is None:
        return False
    host = (match[1] or match[2]).lower().rstrip(".")
    if host in (listening.lower().strip("[]").rstrip("."), "localhost") or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def make_handler(state: PreviewState, listening: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "factsite-preview"
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms ACK wait

        def log_message(self, format: str, *args: object) -> None:  # quiet: the console shows builds
            pass

        def parse_request(self) -> bool:
            """The request, refused with 400 unless it names the preview's own host."""
            if not super().parse_request():
                return False
            if not host_allowed(self.headers.get("Host"), listening):
                self.close_connection = True
                self._send(400, b"This preview answers only requests for its own address "
                           b"(localhost or 127.0.0.1), not for other host names.\n",
                           "text/plain; charset=utf-8")
                return False
            return True

        def _send(self, status: int, body: bytes, content_type: str, head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path == EVENTS_PATH:
                return self._events()
            if path == CLIENT_PATH:
                return self._send(200, CLIENT_JS.encode(), "text/javascript; charset=utf-8", head)
            key = unquote(path).lstrip("/")
            if key == "" or key.endswith("/"):
                key += "index.html"
            with state.lock:
                files, problems, epoch = state.files, state.problems, state.epoch
            data = files.get(key)
            if data is None and f"{key}/index.html" in files:
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            is_html = key.endswith(".html") or data is None
            if problems is not None and problems.errors and is_html:
                return self._send(500, error_page(problems, epoch), "text/html; charset=utf-8", head)
            if data is None:
                body = inject_client(files.get("404.html", b"<h1>Not found</h1>"), epoch)
                return self._send(404, body, "text/html; charset=utf-8", head)
            ctype = mimetypes.guess_type(key)[0] or "application/octet-stream"
            if key.endswith(".html"):
                data = inject_client(data, epoch)
            if ctype.startswith("text/") or ctype in ("application/json", "application/javascript",
                                                      "application/xml", "image/svg+xml"):
                ctype += "; charset=utf-8"
            self._send(200, data, ctype, head)

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "keep-alive")
            self.end_headers()
            with state.lock:
                seen = state.epoch
            try:
                self.wfile.write(f"event: hello\ndata: {seen}\n\n".encode())
                self.wfile.flush()
                while True:
                    with state.lock:
                        state.lock.wait_for(lambda: state.epoch != seen or state.stopping, timeout=15)
                        if state.stopping:
                            return
                        epoch, event = state.epoch, state.event
                    if epoch == seen:
                        self.wfile.write(b": keep-alive\n\n")
                    else:
                        self.wfile.write(f"event: {event}\ndata: {epoch}\n\n".encode())
                        seen = epoch
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            finally:
                self.close_connection = True

    return Handler


def _interesting(path: str) -> bool:
    name = Path(path).name
    return not (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp")))


def _settle_memory() -> None:
    """After a full build: free the last site (its objects refer to each other, so only the
    cyclic collector frees them) and freeze the new one. Left to the collector, a site of
    10,000 claims (millions of objects) was walked by young collections right after the
    build (0.7 s), then by a full one in the middle of a later edit or page request
    (0.36 s); one full collection here takes 0.4 s, and frozen objects are skipped by
    every collection until the next full build. (Edits drawn in place leave nothing frozen
    behind: after 300 of them at 1,000 claims, unfreezing and collecting found 0 objects.)"""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Preview:
    """Builder + watcher + state: the part of `serve` that tests can drive directly."""

    def __init__(self, config_path: Path, base_url: str, log=print):
        self.config_path = config_path
        # (this user's key: the compiled templates it keeps in .cache/ are sealed with it)
        self.builder = Builder(config_path, base_url=base_url, preview=True, seal=try_user_key()[0])
        self.state = PreviewState()
        self.log = log
        self._building = threading.Lock()  # the watcher and start-up never build at once

    def rebuild(self, changed: Iterable[str] = ()) -> BuildResult | None:
        """Build and publish; the result, or None if the build failed (the error page shows)."""
        with self._building:
            return self._rebuild({os.path.abspath(p) for p in changed})

    def _rebuild(self, changed: set[str]) -> BuildResult | None:
        started = time.perf_counter()
        css_only = bool(changed) and all(p.endswith(".css") for p in changed)
        try:
            result = self._build(changed)
        except BuildFailed as failed:
            self.state.publish(None, failed.problems, "reload")
            self.log(failed.problems.format_text())
            self.log(f"Build failed in {time.perf_counter() - started:.3f}s; "
                     "serving the error page until it is fixed.")
            return None
        except Exception as exc:  # a bug must not kill the preview; show it like a mistake
            problems = Problems()
            problems.error(Location(str(self.config_path)), f"internal error: {exc!r}",
                           "this is a bug in factsite; please report it with the file that triggers it")
            self.state.publish(None, problems, "reload")
            self.log(f"Internal error: {exc!r}")
            return None
        files = result.files  # every file, as bytes: the preview builds without staging
        was_broken = self.state.problems is not None and bool(self.state.problems.errors)
        event = "css" if css_only and not was_broken and not result.changed else "reload"
        self.state.publish(files, result.problems if result.problems.items else None, event)
        self.log(f"Rebuilt in {1000 * (time.perf_counter() - started):.0f} ms: "
                 f"{result.rendered} of {result.pages} pages rendered.")
        return result

    def _build(self, changed: set[str]) -> BuildResult:
        """The build kept as the last site; after a full one, memory settled (see
        `_settle_memory`) before the collector resumes: resumed first, it walked the whole
        new site in a young collection (0.4 s at 10,000 claims)."""
        with collector_paused():
            try:
                result = self.builder.build(changed)
            except BaseException:
                if not self.builder.has_site:
                    gc.unfreeze()  # a failed full build let the last site go: let it be collected
                raise
            self.builder.remember(result)
            if not result.patched:
                _settle_memory()
            return result

    def watch_paths(self) -> list[Path]:
        cfg = load_config(self.config_path, Problems())
        root = self.config_path.parent
        paths = [self.config_path]
        if cfg is not None:
            paths += [cfg.content_dir, cfg.templates_dir]
        else:
            paths += [root / "content", root / "templates"]
        return [p for p in paths if p.exists()]

    def watch(self, stop: threading.Event, ready: threading.Event, sentinel: Path) -> None:
        """Rebuild on every batch of changes; `ready` is set once the watcher sees `sentinel`
        change, so no save made after start-up can be missed."""
        from watchfiles import watch

        for changes in watch(*self.watch_paths(), sentinel.parent, stop_event=stop, debounce=1600,
                             step=20, rust_timeout=500, yield_on_timeout=False, raise_interrupt=False):
            changed = {path for _, path in changes if _interesting(path)}
            if str(sentinel) in changed:
                ready.set()
            changed = {path for path in changed if not path.startswith(str(sentinel.parent))}
            if changed and ready.is_set():
                self.rebuild(changed)

    def start_watching(self, stop: threading.Event) -> threading.Thread:
        """Start the watcher and wait until it is really watching."""
        folder = Path(tempfile.mkdtemp(prefix="factsite-watch-"))
        sentinel = folder / "ready"
        ready = threading.Event()
        thread = threading.Thread(target=self.watch, args=(stop, ready, sentinel), daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not ready.is_set() and time.monotonic() < deadline:
            sentinel.write_text(str(time.monotonic_ns()))
            ready.wait(0.05)
        shutil.rmtree(folder, ignore_errors=True)
        return thread


class PreviewServer(ThreadingHTTPServer):
    # a browser opening a page asks for its stylesheet, scripts, icon and event stream at
    # once, and a reload of several tabs more: with the default backlog of 5, a burst of 200
    # connections saw 6 to 104 dropped and retried for 30-40 s; with 256 all were served
    request_queue_size = 256
    daemon_threads = True


def serve(config_path: Path, host: str = "127.0.0.1", port: int = 8000) -> int:
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}: other machines on the network can see the preview, "
              "drafts included.", file=sys.stderr)
    server_class: type[ThreadingHTTPServer] = PreviewServer
    if ":" in host:
        class IPv6Server(PreviewServer):
            address_family = socket.AF_INET6
        server_class = IPv6Server
    try:
        server = server_class((host, port), BaseHTTPRequestHandler)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        hint = (f"another program uses this port; try --port {port + 1}"
                if exc.errno == errno.EADDRINUSE else "check the --host address")
        print(f"    hint: {hint}", file=sys.stderr)
        return 1
    actual_port = server.server_address[1]
    shown_host = f"[{host}]" if ":" in host else host
    preview = Preview(config_path, f"http://{shown_host}:{actual_port}/")
    server.RequestHandlerClass = make_handler(preview.state, host)
    stop = threading.Event()
    watcher = preview.start_watching(stop)
    preview.rebuild()
    print(f"Serving the preview (drafts included) on http://{shown_host}:{actual_port}/ "
          "— press Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        stop.set()
        with preview.state.lock:
            preview.state.stopping = True
            preview.state.lock.notify_all()
        server.server_close()
        watcher.join(timeout=2)
    return 0
