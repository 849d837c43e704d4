"""Sum the CPU log of a test pass (tests/cpu_log.py) by file and by folder.

python -m tests.cpu_report test-output/cpu [--top 40]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    by_db: dict[str, list[tuple[str, float, float, float]]] = defaultdict(list)
    for log in sorted(args.folder.glob("cpu-*.tsv")):
        vendor = log.name.split("-")[1]
        for line in log.read_text().splitlines():
            nodeid, own, children, wall = line.split("\t")
            by_db[vendor].append((nodeid, float(own), float(children), float(wall)))
    for vendor, rows in sorted(by_db.items()):
        files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
        folders: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
        for nodeid, own, children, wall in rows:
            path = nodeid.split("::")[0]
            for key, table in ((path, files), (path.rsplit("/", 1)[0], folders)):
                t = table[key]
                t[0] += own
                t[1] += children
                t[2] += wall
                t[3] += 1
        total_own = sum(r[1] for r in rows)
        total_children = sum(r[2] for r in rows)
        print(
            f"== {vendor}: {len(rows)} tests, CPU {total_own:.0f} s own + "
            f"{total_children:.0f} s children = {total_own + total_children:.0f} s"
        )
        for title, table, top in (("folders", folders, 100), ("files", files, args.top)):
            print(f"-- {title} by CPU (own + children), s: own children wall tests")
            ranked = sorted(table.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))
            for key, (own, children, wall, n) in ranked[:top]:
                print(
                    f"{own + children:8.1f} {own:8.1f} {children:8.1f} {wall:8.1f} {n:5.0f}  {key}"
                )


if __name__ == "__main__":
    main()
