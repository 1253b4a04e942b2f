#!/usr/bin/env python3
"""Two commits on one corpus, builds alternating: the only fair comparison on a noisy machine.

    python bench/interleave.py --base REF [--this REF] [--claims 10000] [--pairs 5] [--output-root DIR]

Checks REF (and --this REF, else the working tree is measured: leave it alone meanwhile)
out into temporary git worktrees, generates the corpus once
(bench/generate_corpus.py) and copies it for each side, then runs, pair by pair and
alternating which side goes first: a cold build (output and .cache removed), a warm build
(nothing changed), and an edit build (one claim's body changed, the same edit on both
sides). Prints each run and the medians of wall and CPU time and of peak memory. The
output goes into each corpus copy, on the disk the corpus is on, unless --output-root
(e.g. /dev/shm, labelled tmpfs) says otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from generate_corpus import edit_one_claim, generate  # noqa: E402

# a build's stamps are kept only for files that changed long enough before it
# (factsite.loading.SETTLE_NS): wait that long after writing a corpus, as an editor would
SETTLE_S = 3.1


def build(python: str, checkout: Path, corpus: Path, output: Path) -> dict[str, float]:
    with tempfile.TemporaryFile() as out:  # (a pipe would fill up and stall a chatty build)
        started = time.perf_counter()
        proc = subprocess.Popen([python, str(checkout / "build.py"), "--config", str(corpus / "site_config.yaml"),
                                 "--output", str(output)], cwd=corpus, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit(f"build failed in {checkout}:\n{out.read().decode(errors='replace')[-4000:]}")
    return {"s": seconds, "cpu": usage.ru_utime + usage.ru_stime, "mib": usage.ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare the working tree with")
    parser.add_argument("--this", help="the commit to measure instead of the working tree")
    parser.add_argument("--claims", type=int, default=10000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output-root", type=Path, help="build into DIR (e.g. /dev/shm) instead of the corpus")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "corpus" / "interleave")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()

    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    checkouts = {"base": args.base, "this": args.this}
    trees: list[Path] = []
    for name, ref in checkouts.items():
        if ref is not None:
            trees.append(Path(tempfile.mkdtemp(prefix=f"factsite-{name}-")))
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(trees[-1]), ref],
                           check=True, capture_output=True)
    base = trees[0]
    this = trees[1] if args.this is not None else REPO
    try:
        generate(args.claims, work / "corpus", args.seed)
        sides = {"base": base, "this": this}
        corpora = {name: work / name for name in sides}
        for name in sides:
            shutil.copytree(work / "corpus", corpora[name], symlinks=True)
            config = corpora[name] / "site_config.yaml"  # each side draws with its own templates
            lines = [f'templates_dir: "{sides[name] / "templates"}"' if line.startswith("templates_dir:")
                     else line for line in config.read_text(encoding="utf-8").splitlines()]
            config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        outputs = {name: (args.output_root / f"factsite-interleave-{name}" if args.output_root
                          else corpora[name] / "output") for name in sides}
        where = f"{args.output_root} (tmpfs)" if args.output_root else f"{work} (disk)"
        print(f"{args.claims:,} claims, base {args.base} vs {args.this or 'the working tree'}; output on {where}",
              flush=True)
        time.sleep(SETTLE_S)
        runs: dict[tuple[str, str], list[dict[str, float]]] = {}
        for pair in range(args.pairs):
            order = list(sides) if pair % 2 == 0 else list(reversed(sides))
            for kind in ("cold", "warm", "edit"):
                for name in order:
                    if kind == "cold":
                        shutil.rmtree(outputs[name], ignore_errors=True)
                        shutil.rmtree(corpora[name] / ".cache", ignore_errors=True)
                    if kind == "edit":
                        edit_one_claim(corpora[name], pair)
                    run = build(args.python, sides[name], corpora[name], outputs[name])
                    runs.setdefault((kind, name), []).append(run)
                    print(f"  pair {pair + 1} {kind:<4} {name:<4} {run['s']:7.2f} s  CPU {run['cpu']:6.2f} s  "
                          f"{run['mib']:6.0f} MiB", flush=True)
                if kind == "cold":
                    time.sleep(SETTLE_S)  # (the cold builds' stamps settle before the warm ones)
        print("\nmedians          base                          this")
        for kind in ("cold", "warm", "edit"):
            cells = []
            for name in sides:
                r = runs[(kind, name)]
                cells.append(f"{statistics.median(x['s'] for x in r):6.2f} s {statistics.median(x['cpu'] for x in r):6.2f} "
                             f"CPU-s {max(x['mib'] for x in r):5.0f} MiB")
            print(f"  {kind:<5}  " + "   ".join(cells))
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
            shutil.rmtree(tree, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
