"""Run a command against a database: `python scripts/with_database.py -- <command> [args ...]`.

With DATABASE_URL set the command simply runs. Without it the embedded PostgreSQL (var/pgdata) is started once,
DATABASE_URL is exported pointing at its socket so the command and all of its processes (pytest-xdist workers)
share that one server, and the server is stopped again when the command ends (unless another process, such as
a running `make run`, still uses it). The exit status is the command's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL"):
        os.execvp(argv[0], argv)

    from distribution_erp import embedded

    embedded.start_database(cleanup_mode="stop")
    try:
        url = embedded.database_url()
        print(f"Embedded PostgreSQL in {embedded.PGDATA} (DATABASE_URL={url})", file=sys.stderr, flush=True)
        child = subprocess.Popen(argv, env={**os.environ, "DATABASE_URL": url})

        def forward(signum: int, _frame: object) -> None:
            # Ctrl-C reaches the child through the terminal already; SIGTERM/SIGHUP are passed on.
            if signum != signal.SIGINT and child.poll() is None:
                child.send_signal(signum)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, forward)
        status = child.wait()
        return 128 - status if status < 0 else status
    finally:
        embedded.stop_database()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
