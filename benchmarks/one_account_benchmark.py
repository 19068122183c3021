"""One large AWS account (benchmarks/one_account_estate.py), scanned as a real CLI process per size and format.

    .venv/bin/python benchmarks/one_account_benchmark.py [--sizes medium,large,xl] [--formats json,sarif,table]
        [--runs 3] [--nhiaudit "env PYTHONPATH=/tmp/old .venv/bin/python -m nhiaudit"]

Sizes (users / roles / customer policies): medium 1,500/600/300, large 5,000/2,000/1,000, xl 14,000/6,000/3,000
(20,000 principals), or any `U/R/P`. Runs `nhiaudit scan --import DIR --format F -o FILE` in a scratch
directory (so `--nhiaudit` with PYTHONPATH measures another checkout), and prints, per size and format, the wall
time, the CPU time, the peak RSS of the largest process and the sampled peak PSS of the process tree (min and
max over --runs; the analysis forks workers on large estates, NHIAUDIT_JOBS=1 measures one process), the
findings count and a digest of the findings (same digest: same findings), then the xl / large time ratio.
Timed runs are not sampled for memory (reading the tree's PSS every 20 ms takes CPU from a 2-core machine):
one extra run per size and format samples it. `--baseline CMD` runs another CLI alternately with the
measured one and prints the ratio of their medians: this machine's speed drifts by up to 1.5x within an
hour, so an absolute figure says more beside a reference measured in the same minutes.
Issue 17 targets: large JSON <= 2.5 s and <= 250 MiB, medium <= 1.2 s and <= 150 MiB,
SARIF and table within 15% of JSON, xl <= 4.5x large.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.one_account_estate import authorization_details, credential_report

SIZES = {"medium": (1500, 600, 300), "large": (5000, 2000, 1000), "xl": (14000, 6000, 3000)}
TARGETS = {"medium": "<= 1.2 s, <= 150 MiB", "large": "<= 2.5 s, <= 250 MiB", "xl": "<= 4.5x large"}
SUFFIX = {"json": "json", "sarif": "sarif", "table": "txt"}


def write_estate(folder: Path, users: int, roles: int, policies: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "authorization-details.json").write_text(
        json.dumps(authorization_details(users, roles, policies)), encoding="utf-8")
    (folder / "credential-report.csv").write_text(credential_report(users), encoding="utf-8")


def _tree_pss_mib(pid: int) -> float:
    """Proportional set size of a process and its children (a forked worker's pages shared with its parent
    count once, split between them), plus the in-memory files they hold open (workers' results waiting to be
    read, which no PSS counts): what the scan costs the machine at this moment."""
    total_kib = 0
    pending = [pid]
    seen_files: set[int] = set()
    while pending:
        current = pending.pop()
        total_kib += _memory_files_kib(current, seen_files)
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii") as rollup:
                total_kib += next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as children:
                pending.extend(int(c) for c in children.read().split())
        except (OSError, StopIteration, ValueError):
            continue  # ended meanwhile
    return total_kib / 1024


def _memory_files_kib(pid: int, seen: set[int]) -> int:
    """KiB of the memfd files the process holds open that `seen` (inodes) does not hold yet."""
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    total = 0
    for fd in descriptors:
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if not os.readlink(path).startswith("/memfd:"):
                continue
            info = os.stat(path)
        except OSError:
            continue  # closed meanwhile
        if info.st_ino not in seen:
            seen.add(info.st_ino)
            total += info.st_blocks // 2  # 512-byte blocks
    return total


def scan_once(command: list[str], estate: Path | list[str], fmt: str,
              out: Path, sample_pss: bool = True) -> tuple[float, float, float, float, int]:
    """(wall seconds, CPU seconds of the process and its workers, peak RSS MiB of the largest process, peak PSS
    MiB of the process tree sampled every 20 ms at first and less often later, exit status) of one scan of
    `--import estate` (or of the given input options). PYTHONHASHSEED is fixed so that the findings digest
    compares checkouts that are not yet hash-seed independent (issue 17). Byte-code caches are allowed (an
    installed package has them; see main's warm-up run). `sample_pss=False`: no sampling (PSS 0), so that the
    sampler's own reads take no CPU from a short scan on a 2-core machine."""
    inputs = ["--import", str(estate)] if isinstance(estate, Path) else estate
    cmd = [*command, "scan", *inputs, "--as-of", "2026-11-28", "--format", fmt,
           "--output", str(out), "--fail-on", "none", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak_pss = 0.0
    while True:
        # The process's own rusage, its workers' included; without sampling, one blocking wait.
        pid, status, usage = os.wait4(proc.pid, 0 if not sample_pss else os.WNOHANG)
        if pid:
            break
        peak_pss = max(peak_pss, _tree_pss_mib(proc.pid))
        # Reading smaps_rollup walks the page tables of every process of the tree: every 20 ms it takes a core
        # of a 2-core machine from a scan of a few GiB. Sampled ever less often as the scan goes on (20 ms at
        # first, 0.5 s after 10 s).
        time.sleep(max(0.02, (time.perf_counter() - start) / 20))
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"scan failed ({proc.returncode}): {stderr.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak_pss, proc.returncode


def findings_digest(report: Path) -> tuple[int, str]:
    """Count and digest of the findings (fingerprint, rule, identity, severity, message, evidence)."""
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    blob = json.dumps(findings, sort_keys=True).encode()
    return len(findings), hashlib.sha256(blob).hexdigest()[:16]


def parse_size(text: str) -> tuple[str, tuple[int, int, int]]:
    if text in SIZES:
        return text, SIZES[text]
    users, roles, policies = (int(x) for x in text.split("/"))
    return text, (users, roles, policies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="medium,large,xl", help="comma-separated: medium, large, xl or U/R/P")
    parser.add_argument("--formats", default="json,sarif,table")
    parser.add_argument("--runs", type=int, default=3, help="runs per size and format (min-max printed)")
    parser.add_argument("--nhiaudit", default="", help="the CLI to run (default: this interpreter -m nhiaudit)")
    parser.add_argument("--baseline", default="",
                        help="another CLI (e.g. an older checkout) run alternately with --nhiaudit, printed beside "
                             "it: the machine's speed drifts, and alternate runs share its state")
    args = parser.parse_args(argv)
    command = shlex.split(args.nhiaudit) if args.nhiaudit else [sys.executable, "-m", "nhiaudit"]
    baseline = shlex.split(args.baseline) if args.baseline else None
    medians: dict[str, tuple[float, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (users, roles, policies) in (parse_size(s) for s in args.sizes.split(",")):
            estate = Path(tmp) / name.replace("/", "-")
            write_estate(estate, users, roles, policies)
            if not medians:  # warm-up, not counted: writes the byte-code caches a pip install would have
                for cli in (command, baseline) if baseline else (command,):
                    scan_once(cli, estate, "json", Path(tmp) / "warm-up.json")
            for fmt in args.formats.split(","):
                out = Path(tmp) / f"report.{SUFFIX[fmt]}"
                timed: dict[str, list[tuple[float, float, float, float, int]]] = {"": [], "baseline": []}
                for _ in range(args.runs):  # timed runs: no PSS sampler taking CPU beside the scan
                    timed[""].append(scan_once(command, estate, fmt, out, sample_pss=False))
                    if baseline:
                        timed["baseline"].append(scan_once(baseline, estate, fmt, out.with_suffix(".base"),
                                                           sample_pss=False))
                pss = scan_once(command, estate, fmt, out)[3]  # one more run, sampled, for memory only
                label = f"{name} ({users} users / {roles} roles / {policies} policies) {fmt}"
                wall = _line(label, timed[""], f" (process tree PSS {pss:.0f} MiB)")
                extra = ""
                if fmt == "json":
                    medians[name] = wall
                    count, digest = findings_digest(out)
                    extra = f" findings={count} digest={digest}"
                print(f"{wall[1]}{extra}  [target {TARGETS.get(name, '-')}]", flush=True)
                if baseline:
                    base = _line(f"  baseline {fmt}", timed["baseline"], "")
                    print(f"{base[1]}  this CLI / baseline (medians): {wall[0] / base[0]:.3f}", flush=True)
    if "large" in medians and "xl" in medians:
        print(f"xl / large JSON time ratio (medians): {medians['xl'][0] / medians['large'][0]:.2f} (target <= 4.5)")
    return 0


def _line(label: str, runs: list[tuple[float, float, float, float, int]], memory: str) -> tuple[float, str]:
    """(median wall seconds, the printed line) of timed runs: min, median and max wall and CPU, peak RSS."""
    walls = sorted(r[0] for r in runs)
    cpus = sorted(r[1] for r in runs)
    rss = sorted(r[2] for r in runs)
    median = walls[len(walls) // 2]
    return median, (f"{label}: wall {walls[0]:.2f} / {median:.2f} / {walls[-1]:.2f} s (min / median / max; CPU "
                     f"{cpus[0]:.2f}-{cpus[-1]:.2f} s), peak RSS {rss[0]:.0f}-{rss[-1]:.0f} MiB{memory}, "
                     f"exit {runs[0][4]}")


if __name__ == "__main__":
    sys.exit(main())
