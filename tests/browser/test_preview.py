"""The live preview (`build.py serve`) in a real browser: edits appear in the open
page by themselves, mistakes show as an error page and clear when fixed, drafts
show only in the preview, deletions update the lists."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the sample site whose config points at the repo's templates."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "content", site / "content")
    shutil.copytree(ROOT / "templates", site / "templates")
    shutil.copy(ROOT / "site_config.yaml", site / "site_config.yaml")
    return site


@pytest.fixture
def preview(project: Path):
    port = _free_port()
    log = project.parent / "serve.log"
    # Ctrl-C reaches the preview as it would from a terminal: a suite started in the
    # background (`bash scripts/test.sh &`) runs with SIGINT ignored, which a child keeps
    # through exec, where a handler is reset to the default
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "build.py"), "serve", "--config",
                 str(project / "site_config.yaml"), "--port", str(port)],
                cwd=project, stdout=out, stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.time() + 60
    while "Serving" not in log.read_text():
        if proc.poll() is not None or time.time() > deadline:
            pytest.fail(f"serve did not start:\n{log.read_text()}")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", project, proc
    proc.terminate()
    proc.wait(timeout=10)


def _open(browser, url: str):
    """A tab on `url`, settled (event stream connected), and the list of navigations after it."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_timeout(300)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url)
            if frame == page.main_frame else None)
    return page, navigations


def test_edit_shows_in_open_page_without_reload(preview, browser):
    url, project, _ = preview
    claim = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    page, navigations = _open(browser, f"{url}/claims/serbia-can-rely-on-russia/")
    marker = "A sentence the editor just added."
    claim.write_text(claim.read_text(encoding="utf-8") + f"\n{marker}\n", encoding="utf-8")
    page.wait_for_function("m => document.body.innerText.includes(m)", arg=marker, timeout=10000)
    assert navigations == [], "the page should update in place, not navigate"
    # the list pages stayed consistent: the claim is still listed under its speaker
    page.goto(f"{url}/speakers/alexander-botsan-kharchenko/")
    assert page.locator('a[href="/claims/serbia-can-rely-on-russia/"]').count() >= 1
    page.close()


def test_mistake_shows_error_page_and_fix_restores(preview, browser):
    url, project, proc = preview
    claim = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    good = claim.read_text(encoding="utf-8")
    page, _ = _open(browser, f"{url}/claims/serbia-can-rely-on-russia/")
    broken = good.replace("verdict: opinion", "verdict: [opinion", 1)
    assert broken != good
    claim.write_text(broken, encoding="utf-8")
    page.wait_for_selector("ol.problems li", timeout=10000)
    text = page.inner_text("ol.problems")
    assert "content/claims/serbia-can-rely-on-russia.md:" in text
    line = broken.splitlines().index("verdict: [opinion") + 1
    assert f"serbia-can-rely-on-russia.md:{line}:" in text or \
        f"serbia-can-rely-on-russia.md:{line + 1}:" in text, text
    assert proc.poll() is None, "the server must keep running"
    claim.write_text(good, encoding="utf-8")
    page.wait_for_selector("h1.claim-quote", timeout=10000)
    assert "rely on Russia" in page.inner_text("h1.claim-quote")
    page.close()


def test_misquote_and_template_error_are_shown(preview, browser):
    url, project, _ = preview
    claim = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    template = project / "templates" / "claim.html"
    good_claim, good_template = claim.read_text(encoding="utf-8"), template.read_text(encoding="utf-8")
    page, _ = _open(browser, f"{url}/claims/serbia-can-rely-on-russia/")

    def break_and_fix(path, good: str, broken: str, shown: str) -> None:
        """The open page turns into the error list naming `shown`, then back into the claim."""
        path.write_text(broken, encoding="utf-8")
        page.wait_for_selector("ol.problems li", timeout=10000)
        assert shown in page.inner_text("ol.problems")
        path.write_text(good, encoding="utf-8")
        page.wait_for_selector("h1.claim-quote", timeout=10000)

    break_and_fix(claim, good_claim,
                  good_claim.replace("they always can rely", "they always could rely", 1), "could")
    break_and_fix(template, good_template,
                  good_template.replace("{% block main %}", "{% block main %}{% if %}", 1), "claim.html")
    page.close()


def test_draft_in_preview_not_in_build(preview, browser, tmp_path):
    url, project, _ = preview
    source = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    draft = project / "content" / "claims" / "a-draft-claim.md"
    draft.write_text(source.read_text(encoding="utf-8").replace("reviewed:", "draft: true\nreviewed:", 1),
                     encoding="utf-8")
    page = browser.new_page()
    deadline = time.time() + 10
    while time.time() < deadline:
        response = page.goto(f"{url}/claims/a-draft-claim/")
        if response is not None and response.status == 200:
            break
        page.wait_for_timeout(100)
    assert page.locator(".draft-notice").count() == 1, page.content()[:3000]
    page.close()
    out = tmp_path / "published"
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--config",
                             str(project / "site_config.yaml"), "--output", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (out / "claims" / "serbia-can-rely-on-russia" / "index.html").is_file()
    assert not (out / "claims" / "a-draft-claim").exists()


def test_deleting_a_claim_removes_its_page_and_listing(preview, browser):
    url, project, _ = preview
    claim = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    page = browser.new_page()
    page.goto(f"{url}/claims/")
    assert page.locator('a[href="/claims/serbia-can-rely-on-russia/"]').count() == 1
    os.remove(claim)
    page.wait_for_function(
        "() => !document.querySelector('a[href=\"/claims/serbia-can-rely-on-russia/\"]')", timeout=10000)
    assert page.goto(f"{url}/claims/serbia-can-rely-on-russia/").status == 404
    page.close()


def test_stylesheet_edit_swaps_styles_without_navigation(preview, browser):
    url, project, _ = preview
    css = project / "templates" / "static" / "style.css"
    page, navigations = _open(browser, f"{url}/")
    css.write_text(css.read_text(encoding="utf-8") + "\nbody { outline: 7px solid rgb(1, 2, 3); }\n",
                   encoding="utf-8")
    page.wait_for_function("() => getComputedStyle(document.body).outlineWidth === '7px'", timeout=10000)
    assert navigations == []
    page.close()


def test_port_in_use_is_a_clear_error(preview):
    url, project, _ = preview
    port = url.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "serve", "--config",
                             str(project / "site_config.yaml"), "--port", port],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_stops_cleanly(preview):
    url, project, proc = preview
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    log = (project.parent / "serve.log").read_text()
    assert "Stopping." in log and "Traceback" not in log


def test_burst_of_saves_coalesces(preview):
    url, project, _ = preview
    claim = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    log = project.parent / "serve.log"
    original = claim.read_text(encoding="utf-8")
    before = log.read_text().count("Rebuilt in")
    for i in range(20):  # an editor's autosave: twenty writes within about 100 ms
        claim.write_text(original + f"\nDraft sentence {i}.\n", encoding="utf-8")
        time.sleep(0.005)
    time.sleep(2)
    rebuilds = log.read_text().count("Rebuilt in") - before
    assert 1 <= rebuilds <= 5, f"{rebuilds} rebuilds for 20 saves"
    import urllib.request

    with urllib.request.urlopen(f"{url}/claims/serbia-can-rely-on-russia/") as response:
        assert "Draft sentence 19." in response.read().decode(), "the last save must be the one shown"


def test_config_edit_reaches_every_page(preview, browser):
    """The warm Jinja environment holds the config: a config edit must replace it."""
    url, project, _ = preview
    config = project / "site_config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("title: Kosovo Claims Archive", "title: Renamed Archive", 1),
                      encoding="utf-8")
    page, _ = _open(browser, f"{url}/")
    page.wait_for_function("() => document.querySelector('.brand').textContent.includes('Renamed')",
                           timeout=10000)
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/search/index.json") as response:
        assert json.loads(response.read())["records"], "the search index is still served"
    page.close()


def _get(url: str, host: str | None = None) -> tuple[int, bytes]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.putrequest("GET", parts.path or "/", skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_an_edit_that_keeps_size_and_mtime_reaches_the_preview(preview):
    """The watcher sees the save itself, whatever the file's stamp says (issue 23)."""
    url, project, _ = preview
    claim = project / "content" / "claims" / "serbia-can-rely-on-russia.md"
    info = claim.stat()
    text = claim.read_text(encoding="utf-8")
    old, new = "different English", "differing English"
    assert old in text.split("---", 2)[2], "the body must hold the words edited"
    claim.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(claim, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert claim.stat().st_size == info.st_size
    deadline = time.time() + 15
    while time.time() < deadline:
        if new in _get(f"{url}/claims/serbia-can-rely-on-russia/")[1].decode():
            return
        time.sleep(0.1)
    pytest.fail("the edit never reached the preview")


def test_the_preview_answers_only_its_own_host_names(preview):
    """DNS rebinding: a page on another site whose name points at 127.0.0.1 gets a 400."""
    url, _project, _ = preview
    port = url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert _get(f"{url}/", host)[0] == 200, host
    for host in (f"evil.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}", "",
                 "localhost:abc", "[::1]evil.example", f"127.0.0.1:{port}, evil.example"):
        status, body = _get(f"{url}/", host)
        assert status == 400 and b"own address" in body, host


def test_a_burst_of_200_connections_is_served(preview):
    """A browser's burst: 200 connections opened at once are all accepted at once and
    answered. (With a listen backlog of 5, most were dropped by the kernel and retried
    after 1, 3, 7 s..., some until the client gave up.)"""
    import threading

    url, _project, _ = preview
    port = int(url.rsplit(":", 1)[1])
    go = threading.Barrier(200)
    results: list[tuple[float, bytes]] = []

    def one() -> None:
        go.wait()
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            connected = time.monotonic() - started
            conn.sendall(b"GET /static/style.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        results.append((connected, reply[:12]))

    threads = [threading.Thread(target=one) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [reply for _, reply in results] == [b"HTTP/1.1 200"] * 200
    slowest = max(connected for connected, _ in results)
    assert slowest < 1.0, f"a connection waited {slowest:.1f} s to be accepted (dropped and retried)"
