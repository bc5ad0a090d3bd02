"""`make bench`: run every benchmark in tests/bench/ (see tests/bench/README.md).

Each `tests/bench/bench_*.py` script runs in turn, then `pytest tests/bench` if that folder has test_*.py files.
Benchmarks wipe their database, so they never use DATABASE_URL's database itself: BENCH_DATABASE_URL, or a
database named erp_bench on the same server as DATABASE_URL (`make bench` starts the embedded PostgreSQL when
DATABASE_URL is not set). Extra arguments are passed to every bench script:
`make bench BENCH_ARGS="--workers 1,4"`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "tests" / "bench"
BENCH_DATABASE = "erp_bench"


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL or BENCH_DATABASE_URL (or run through `make bench`)")
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{BENCH_DATABASE}" + (f"?{tail}" if tail else "")


def main(argv: list[str]) -> int:
    env = {**os.environ, "BENCH_DATABASE_URL": bench_database_url()}
    failures = []
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        print(f"== {script.relative_to(ROOT)}", flush=True)
        if subprocess.run([sys.executable, str(script), *argv], cwd=ROOT, env=env).returncode != 0:
            failures.append(script.name)
    if any(BENCH_DIR.glob("test_*.py")):
        print("== pytest tests/bench", flush=True)
        if subprocess.run([sys.executable, "-m", "pytest", "-q", str(BENCH_DIR)], cwd=ROOT, env=env).returncode != 0:
            failures.append("pytest tests/bench")
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
