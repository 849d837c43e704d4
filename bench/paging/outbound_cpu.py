"""CPU time of one outbound webhook call (tocsin.core.outbound.post_json), on loopback.

    PYTHONPATH=src .venv/bin/python bench/paging/outbound_cpu.py --n 300

A page to a webhook contact method makes one such call; in a storm the worker makes a
thousand. Prints this thread's CPU milliseconds a call (the receiver runs in another
thread, not counted) and the wall time; the CPU figure is the one to compare between
versions, the wall time depends on the machine's load.
"""

from __future__ import annotations

import argparse
import http.server
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def thread_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="calls measured (after 20 warm-up)")
    args = parser.parse_args()
    os.environ["TOCSIN_DATA_DIR"] = tempfile.mkdtemp(prefix="tocsin-outbound-")
    os.environ["TOCSIN_OUTBOUND_ALLOW"] = "127.0.0.1/32"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from tocsin.core import outbound

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    body = {"incident": "INC-1", "text": "x" * 500}
    for _ in range(20):
        outbound.post_json(url, body)
    cpu, wall = thread_cpu(), time.perf_counter()
    for _ in range(args.n):
        result = outbound.post_json(url, body)
        assert result.status == 200
    cpu, wall = thread_cpu() - cpu, time.perf_counter() - wall
    print(
        f"{args.n} calls: {1000 * cpu / args.n:.2f} ms CPU a call (this thread), "
        f"{1000 * wall / args.n:.2f} ms wall"
    )
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
