"""Build-time benchmark (issue 7): cold, warm and one-edit builds at several sizes.

    python bench/run.py [--sizes 1000 10000] [--runs 3] [--json bench/results/latest.json]

For each size N the synthetic corpus is generated into bench/corpus/N (git-ignored)
and `build.py` is run as a whole process, the way editors and CI run it:

  cold   output folder and DIR/.cache deleted before each run
  warm   nothing changed since the previous build; output and cache kept
  edit   the body of one claim changed (bench/generate_corpus.py:edit_one_claim), then built

Each figure is the median of --runs runs (wall-clock seconds of the whole
process, interpreter start-up included); the child's CPU time (user + sys) is
recorded too, as it is less disturbed by other load on the machine. The load
average before and after each size goes into the JSON. Peak memory is the child's max RSS,
from os.wait4. "In-process edit" is the path `serve` uses: one long-lived
`factsite.pipeline.Builder`, timed from a claim edit to the rebuilt site in memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from generate_corpus import edit_one_claim, edit_one_verdict, generate  # noqa: E402

BUILT = re.compile(r"(?:Built |is up to date \()([\d,]+) pages")
RENDERED = re.compile(r"\(([\d,]+) rendered")
MANIFEST = ".factsite-manifest.json"
SETTLE_S = 3.1


def run_build(python: str, config: Path, output: Path, timeout: float | None) -> dict:
    """One `build.py` process: wall time, exit code, max RSS, pages built."""
    cmd = [python, "build.py", "--config", str(config), "--output", str(output)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    match = BUILT.search(stdout)
    rendered = RENDERED.search(stdout)
    try:  # files in the published site, from the generator's manifest
        files = len(json.loads((output / MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        files = None
    return {
        "seconds": round(seconds, 3),
        "returncode": proc.returncode,
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is KiB on Linux
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "pages": int(match.group(1).replace(",", "")) if match else None,
        "rendered": int(rendered.group(1).replace(",", "")) if rendered else (0 if match else None),
        "files": files,
        "stdout": stdout.strip()[-2000:],
        "stderr": stderr.strip()[-4000:],
    }


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


class BuildError(RuntimeError):
    pass


def checked(result: dict, what: str) -> dict:
    if result["returncode"] != 0:
        raise BuildError(f"{what}: build.py exited with {result['returncode']}\n{result['stderr']}")
    return result


def inprocess_edit(python: str, corpus: Path, runs: int, timeout: float | None) -> dict:
    """Run the in-process measurement in a child so it does not share this process's state."""
    cmd = [python, str(Path(__file__).resolve()), "--inprocess-child", str(corpus), "--runs", str(runs)]
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"timed out after {timeout}s"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"status": "error", "reason": f"exit {done.returncode}: {done.stderr.strip()[-2000:]}"}


def inprocess_child(corpus: Path, runs: int) -> int:
    """The path `serve` uses: its `Preview` (one long-lived builder, in memory, drafts
    included) without the HTTP server and the watcher; build once, then time
    `rebuild(changed={path})` after each edit of one claim, until the new site is published."""
    sys.path.insert(0, str(REPO))
    from factsite.serve import Preview

    config = corpus / "site_config.yaml"
    try:
        started = time.perf_counter()
        preview = Preview(config, "http://127.0.0.1:8000/", log=lambda *args: None)
        if preview.rebuild() is None:
            raise RuntimeError("the first build failed")
        first = time.perf_counter() - started
        times: dict[str, list[float]] = {"body": [], "verdict": []}
        for edit, kind in [(edit_one_claim, "body")] * runs + [(edit_one_verdict, "verdict")] * runs:
            path = edit(corpus, 1)
            started = time.perf_counter()
            result = preview.rebuild({str(path)})
            times[kind].append((time.perf_counter() - started) * 1000)
            if result is None or not result.patched:
                raise RuntimeError(f"the {kind} edit took the full build (or failed)")
    except Exception as exc:  # report, do not crash the benchmark
        print(json.dumps({"status": "error", "reason": f"{type(exc).__name__}: {exc}"}))
        return 0
    print(json.dumps({"status": "ok", "first_build_s": round(first, 3),
                      "rebuild_ms": [round(t, 1) for t in times["body"]], "median_ms": median(times["body"]),
                      "verdict_ms": [round(t, 1) for t in times["verdict"]],
                      "verdict_median_ms": median(times["verdict"])}))
    return 0


def git_info() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD") or None, "subject": git("log", "-1", "--format=%s"),
            "dirty": bool(status)}


def machine_info(python: str) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    child_version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                                   capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "mem_gib": mem,
        "platform": platform.platform(),
        "python": child_version or platform.python_version(),
        "python_executable": python,
    }


def bench_size(n: int, args: argparse.Namespace) -> dict:
    corpus = (args.corpus_root / str(n)).resolve()
    config = corpus / "site_config.yaml"
    # --output-root: the built site elsewhere (e.g. /dev/shm) to tell the generator's own time
    # from the file system's: creating 21,000 files and 20,000 folders on this VM's ext4
    # (mounted with `discard`) cost up to 13 s of system time
    output = (args.output_root / f"factsite-bench-{n}") if args.output_root else corpus / "output"
    result: dict = {"n": n, "seed": args.seed, "corpus": str(corpus), "output": str(output)}
    result["loadavg_before"] = list(os.getloadavg())
    print(f"\n== N = {n}: generating {corpus} ...", flush=True)
    shutil.rmtree(corpus, ignore_errors=True)
    result["corpus_stats"] = generate(n, corpus, args.seed)
    print(f"   {json.dumps(result['corpus_stats'])}", flush=True)
    # a build keeps a file's stamp only once it is a few seconds old (factsite.loading.SETTLE_NS):
    # wait as long, as an editor's files are, so that the warm builds measure the no-change path
    time.sleep(SETTLE_S)

    def log(what: str, r: dict) -> None:
        print(f"   {what:<6} {r['seconds']:8.2f} s (CPU {r['user_s'] + r['sys_s']:.2f} s)  "
              f"{r['max_rss_mib']:7.1f} MiB  "
              f"pages={r['pages']} rendered={r['rendered']} files={r['files']}", flush=True)

    cold, warm, edit = [], [], []
    try:
        for i in range(args.runs):
            shutil.rmtree(output, ignore_errors=True)
            shutil.rmtree(corpus / ".cache", ignore_errors=True)
            cold.append(checked(run_build(args.python, config, output, args.timeout), "cold build"))
            log("cold", cold[-1])
        time.sleep(SETTLE_S)  # (the last cold build's own files, .cache/ aside, are inputs too)
        for i in range(args.runs):
            warm.append(checked(run_build(args.python, config, output, args.timeout), "warm build"))
            log("warm", warm[-1])
        for i in range(args.runs):
            edit_one_claim(corpus, 0)
            edit.append(checked(run_build(args.python, config, output, args.timeout), "edit build"))
            log("edit", edit[-1])
    except BuildError as exc:
        print(f"   FAILED: {exc}", file=sys.stderr, flush=True)
        result["error"] = str(exc)
    if args.inprocess and "error" not in result:
        result["inprocess_edit"] = inprocess_edit(args.python, corpus, args.runs, args.timeout)
        print(f"   in-process edit: {json.dumps(result['inprocess_edit'])}", flush=True)
    else:
        result["inprocess_edit"] = {"status": "n/a", "reason": "skipped"}

    def strip(runs: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in ("stdout", "stderr")} for r in runs]

    all_runs = cold + warm + edit
    result.update({
        "loadavg_after": list(os.getloadavg()),
        "cold_s": median([r["seconds"] for r in cold]),
        "cold_cpu_s": median([r["user_s"] + r["sys_s"] for r in cold]),
        "warm_cpu_s": median([r["user_s"] + r["sys_s"] for r in warm]),
        "edit_cpu_s": median([r["user_s"] + r["sys_s"] for r in edit]),
        "warm_s": median([r["seconds"] for r in warm]),
        "edit_s": median([r["seconds"] for r in edit]),
        "inprocess_edit_ms": result["inprocess_edit"].get("median_ms"),
        "inprocess_verdict_ms": result["inprocess_edit"].get("verdict_median_ms"),
        "peak_rss_mib": max((r["max_rss_mib"] for r in all_runs), default=None),
        "pages": next((r["pages"] for r in reversed(all_runs) if r["pages"]), None),
        "files": next((r["files"] for r in reversed(all_runs) if r["files"]), None),
        "last_build_output": all_runs[-1]["stdout"] if all_runs else "",
        "runs": {"cold": strip(cold), "warm": strip(warm), "edit": strip(edit)},
    })
    if not args.keep_output:
        shutil.rmtree(output, ignore_errors=True)
        shutil.rmtree(corpus / "output-inprocess", ignore_errors=True)
    return result


def table(results: list[dict]) -> str:
    base = next((r for r in results if r.get("cold_s")), None)
    head = ["N", "cold s", "warm s", "edit s", "in-proc edit ms", "in-proc verdict ms", "peak RSS MiB",
            "pages", "cold ratio", "CPU s cold/warm/edit"]
    rows = [head]

    def f(value: float | None, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    for r in results:
        ratio = (f"{r['cold_s'] / base['cold_s']:.2f} (N x{r['n'] / base['n']:g})"
                 if base and r.get("cold_s") else "n/a")
        rows.append([f"{r['n']:,}", f(r.get("cold_s"), ".2f"), f(r.get("warm_s"), ".2f"),
                     f(r.get("edit_s"), ".2f"), f(r.get("inprocess_edit_ms"), ".1f"),
                     f(r.get("inprocess_verdict_ms"), ".1f"), f(r.get("peak_rss_mib"), ".0f"), f(r.get("pages"), ","), ratio,
                     "/".join(f(r.get(k), ".1f") for k in ("cold_cpu_s", "warm_cpu_s", "edit_cpu_s"))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark build.py on generated corpora (issue 7).")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], metavar="N")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "latest.json")
    parser.add_argument("--corpus-root", type=Path, default=REPO / "bench" / "corpus")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs build.py")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before a build is killed")
    parser.add_argument("--no-inprocess", dest="inprocess", action="store_false",
                        help="skip the in-process (serve path) measurement")
    parser.add_argument("--keep-output", action="store_true", help="keep the built sites afterwards")
    parser.add_argument("--output-root", type=Path, default=None,
                        help="build into this folder instead of the corpus (e.g. /dev/shm)")
    parser.add_argument("--inprocess-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inprocess_child:
        return inprocess_child(args.inprocess_child.resolve(), args.runs)

    report = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_info(),
        "machine": machine_info(args.python),
        "runs": args.runs,
        "seed": args.seed,
        "sizes": [],
    }
    print(f"factsite benchmark — commit {(report['git']['commit'] or '?')[:10]}"
          f"{' (dirty)' if report['git']['dirty'] else ''}, {report['machine']['nproc']} CPUs, "
          f"Python {report['machine']['python']}, {args.runs} run(s) each")
    failed = False
    for n in args.sizes:
        result = bench_size(n, args)
        failed = failed or "error" in result
        report["sizes"].append(result)
        write_json(args.json, report)  # after every size, so a long run leaves partial results
    ok = [r for r in report["sizes"] if r.get("cold_s")]
    if len(ok) >= 2:
        small, large = ok[0], ok[-1]
        report["cold_ratio"] = {"sizes": [small["n"], large["n"]],
                                "time_ratio": round(large["cold_s"] / small["cold_s"], 2),
                                "size_ratio": large["n"] / small["n"]}
    report["table"] = table(report["sizes"])
    write_json(args.json, report)
    print("\n" + report["table"])
    if "cold_ratio" in report:
        c = report["cold_ratio"]
        print(f"\ncold {c['sizes'][1]:,} / {c['sizes'][0]:,}: x{c['time_ratio']} "
              f"(linear would be x{c['size_ratio']:g})")
    print(f"\nwrote {args.json}")
    return 1 if failed else 0


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
