"""Faults (issue 9): a build killed at any moment leaves the previous output intact byte for
byte, and the next build works; two builds at once cannot corrupt each other.

A generated site of 160 claims (bench/generate_corpus.py; over 400 pages, so rendering
forks workers) is built once. Then builds that change it (site title, one claim's notes, one
claim removed: nearly every page is rewritten) are started as processes and SIGKILLed at
delays spread over a build's duration. After each kill the output folder must hold exactly
one of two sites, hashed file by file: the previous one (killed before the swap) or a clean
build of the new content (killed after it). Versions A and B alternate, so every kill
interrupts a real change.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BUILD_PY, REPO, _snapshot

CLAIMS = 160
KILLS = 10
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def hashes(root: Path) -> dict[str, str]:
    """Every file under root (links and special files too), by content hash."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                found[rel] = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
            else:
                found[rel] = "special"
    return found


def describe(got: dict[str, str], want: dict[str, str]) -> str:
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    return f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)}), " \
           f"changed {changed[:5]} ({len(changed)})"


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and not p.name.endswith(".lock"))


def cli(site: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD_PY), *args], cwd=site, capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def start(site: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(BUILD_PY), "--config", "site_config.yaml",
                             "--output", str(out)], cwd=site, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV, start_new_session=True)


def _processes(field: int, value: int) -> list[int]:
    """Running processes (zombies do not count) whose /proc stat field after the name is
    `value`: field 1 is the parent's pid, field 2 the process group."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[field]) == value and fields[0] != "Z":
            found.append(int(entry))
    return found


def group_alive(pgid: int) -> bool:
    """Is any process of this group still running (zombies waiting for init do not count)?"""
    return bool(_processes(2, pgid))


class Corpus:
    """The generated site and its two versions, A and B."""

    def __init__(self, root: Path):
        self.root = root
        self.site = root / "site"
        subprocess.run([sys.executable, str(REPO / "bench" / "generate_corpus.py"), "--claims", str(CLAIMS),
                        "--out", str(self.site)], check=True, capture_output=True, env=ENV)
        shutil.copytree(_snapshot("templates"), self.site / "templates")
        config = self.site / "site_config.yaml"
        text = re.sub(r"^templates_dir: .*$", "templates_dir: templates", config.read_text(encoding="utf-8"),
                      flags=re.M)
        config.write_text(text, encoding="utf-8")
        claims = sorted((self.site / "content" / "claims").glob("*.md"))
        self.edited, self.removed = claims[7], claims[11]
        self.files_a = {config: text.encode(), self.edited: self.edited.read_bytes(),
                        self.removed: self.removed.read_bytes()}
        self.files_b = {
            config: re.sub(r"^title: .*$", "title: Synthetic Claims Archive, second edition", text,
                           flags=re.M).encode(),
            self.edited: self.edited.read_bytes().rstrip(b"\n") + b"\n\nA paragraph added in version B.\n",
            self.removed: None,
        }
        self.version = ""

    def use(self, version: str) -> None:
        for path, data in (self.files_a if version == "A" else self.files_b).items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        self.version = version


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus, its output built as A, and clean builds of A and B (hashes) to compare with."""
    root = tmp_path_factory.mktemp("kill")
    c = Corpus(root)
    expected = {}
    # the build cache is keyed by output folder: a build into a new folder is a clean build
    c.use("B")
    clean = root / "clean-B"
    run = cli(c.site, "--config", "site_config.yaml", "--output", str(clean))
    assert run.returncode == 0, run.stderr
    expected["B"] = hashes(clean)
    shutil.rmtree(clean)
    c.use("A")
    out = root / "output"
    started = time.perf_counter()
    run = cli(c.site, "--config", "site_config.yaml", "--output", str(out))
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    expected["A"] = hashes(out)
    assert len([k for k in expected["A"] if k.endswith(".html")]) > 400  # enough to fork workers
    changed = sum(expected["A"].get(k) != v for k, v in expected["B"].items())
    assert changed > 400, changed  # nearly every page differs between A and B
    return c, out, expected, seconds


def test_build_killed_at_any_moment_leaves_a_whole_site(corpus):
    c, out, expected, seconds = corpus
    current = "A"
    assert hashes(out) == expected["A"]
    delays = [0.05 + i * (seconds * 1.1 - 0.05) / (KILLS - 1) for i in range(KILLS)]
    landed = {"before": 0, "after": 0}
    groups: list[tuple[float, int]] = []  # (delay, process group of the killed build)
    mid_write = 0
    for delay in delays:
        target = "B" if current == "A" else "A"
        c.use(target)
        proc = start(c.site, out)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)  # the build itself, as `kill -9 PID` would
        proc.communicate()
        groups.append((delay, proc.pid))
        if any(name.startswith(f".{out.name}.staging-{proc.pid}-") for name in leftovers(out)):
            mid_write += 1  # killed while the new site was being staged
        got = hashes(out)
        if got == expected[current]:
            landed["before"] += 1
        elif got == expected[target]:
            landed["after"] += 1
            current = target
        else:
            pytest.fail(f"killed after {delay:.2f}s (finished: {finished}): the output is neither the "
                        f"previous site ({describe(got, expected[current])}) nor the new one "
                        f"({describe(got, expected[target])})")
    assert landed["before"] >= 3, landed  # the kills did interrupt builds
    assert mid_write >= 1, "no kill landed while files were being written; adjust the delays"
    # forked render workers lose their parent: they must go away on their own
    deadline = time.monotonic() + 10
    while any(group_alive(g) for _, g in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    stragglers = [delay for delay, g in groups if group_alive(g)]
    for _, g in groups:
        if group_alive(g):
            os.killpg(g, signal.SIGKILL)
    assert stragglers == [], f"render workers still running 10s after the build was killed: {stragglers}"
    # whatever the kills left beside the output, the next build cleans it up and succeeds
    target = "B" if current == "A" else "A"
    c.use(target)
    run = cli(c.site, "--config", "site_config.yaml", "--output", str(out))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert hashes(out) == expected[target], describe(hashes(out), expected[target])
    assert leftovers(out) == []
    check = cli(c.site, "check", "--config", "site_config.yaml")
    assert check.returncode == 0, check.stdout + check.stderr


def test_two_builds_at_once_do_not_corrupt_each_other(corpus):
    c, out, expected, seconds = corpus
    c.use("A")
    assert cli(c.site, "--config", "site_config.yaml", "--output", str(out)).returncode == 0
    assert hashes(out) == expected["A"]
    c.use("B")
    first, second = start(c.site, out), start(c.site, out)
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
    codes = sorted(code for _, _, code in results)
    for stdout, stderr, code in results:
        assert b"Traceback" not in stderr, stderr.decode()
        assert code in (0, 1), (code, stderr.decode())
        if code == 1:
            assert b"another build is writing" in stderr, stderr.decode()
    assert codes in ([0, 0], [0, 1]), codes
    assert hashes(out) == expected["B"], describe(hashes(out), expected["B"])
    assert leftovers(out) == []


def test_a_held_lock_is_a_clear_error_and_the_output_is_untouched(corpus):
    c, out, expected, seconds = corpus
    before = hashes(out)
    assert before in (expected["A"], expected["B"])
    c.use("B" if before == expected["A"] else "A")
    with open(out.parent / f".{out.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = cli(c.site, "--config", "site_config.yaml", "--output", str(out))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "another build is writing" in run.stderr and "Traceback" not in run.stderr
    assert hashes(out) == before
    assert leftovers(out) == []
    c.use("A")


def test_leftovers_of_a_killed_build_do_not_trip_the_next(corpus):
    """A staging folder, and an output set aside mid-swap: cleaned or put back."""
    c, out, expected, seconds = corpus
    c.use("A")
    assert cli(c.site, "--config", "site_config.yaml", "--output", str(out)).returncode == 0
    stale = out.parent / f".{out.name}.staging-999999"
    (stale / "claims" / "x").mkdir(parents=True)
    (stale / "claims" / "x" / "index.html").write_text("half a page")
    os.symlink("/", stale / "escape")  # must be removed as a link, never followed
    run = cli(c.site, "--config", "site_config.yaml", "--output", str(out))
    assert run.returncode == 0, run.stderr
    assert leftovers(out) == []
    assert hashes(out) == expected["A"]
    # killed between "output -> .output.previous" and "staging -> output" (the non-Linux swap)
    aside = out.parent / f".{out.name}.previous"
    os.rename(out, aside)
    run = cli(c.site, "--config", "site_config.yaml", "--output", str(out))
    assert run.returncode == 0, run.stderr
    assert hashes(out) == expected["A"]
    assert leftovers(out) == []


def test_build_across_workers_equals_a_build_in_one_process(corpus, tmp_path, monkeypatch):
    """Forked workers draw, memoise and write pages themselves: the bytes must be those
    of a build that does everything in one process."""
    import factsite.parallel
    from factsite.pipeline import build

    c, _out, expected, _seconds = corpus
    c.use("A")
    monkeypatch.setattr(factsite.parallel, "workers", lambda: 1)
    single = tmp_path / "one-process"
    build(c.site / "site_config.yaml", output_dir=single, use_cache=False)
    assert hashes(single) == expected["A"]


def test_a_worker_killed_mid_build_is_a_located_error_not_a_hang(corpus):
    """The out-of-memory killer may pick a render worker: the build must stop with a
    message (it used to wait for the dead worker's pages forever), output untouched."""
    c, out, expected, _seconds = corpus
    c.use("B")  # every page changes: the workers have plenty to do
    try:
        build = start(c.site, out)
        killed = None
        deadline = time.monotonic() + 60
        while killed is None and build.poll() is None and time.monotonic() < deadline:
            workers = _processes(1, build.pid)
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed = workers[0]
            time.sleep(0.002)
        _out, err = build.communicate(timeout=120)
    finally:
        c.use("A")
    assert killed is not None, "the build forked no worker"
    assert build.returncode == 1, err.decode()
    assert "worker process" in err.decode()
    assert hashes(out) == expected["A"]
    assert cli(c.site, "--config", "site_config.yaml", "--output", str(out)).returncode == 0
    assert hashes(out) == expected["A"]
