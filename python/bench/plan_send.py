"""How long sending one epoch plan takes: ``Daemon.plan`` of N paths, end to end (JSON, the Unix
socket, the daemon checking every path and building the plan), against a real daemon.

It starts the integration tests' stack (``python/tests/realstack.py``: the S3 server in its own
JVM, ``bin/s3cache daemon``, a FUSE mount of bucket ``data``), puts ``--files`` small objects in
``--dirs`` directories, lists them once through the mount (as a loader's ``ImageFolder`` does),
then times ``--rounds`` plans of ``--paths`` paths (the files repeated in a shuffled order when
``--paths`` is larger) and prints one JSON line per round and a summary. Root only (FUSE).

    /usr/bin/python3 python/bench/plan_send.py --files 10000 --paths 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "tests")]

import realstack  # noqa: E402  (python/tests: the integration tests' real stack)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=10000, help="distinct objects (default 10000)")
    p.add_argument("--dirs", type=int, default=100, help="directories they are spread over (default 100)")
    p.add_argument("--paths", type=int, default=100000, help="paths in each plan (default 100000)")
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args(argv)
    reason = realstack.missing()
    if reason:
        print(f"plan_send: {reason}", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="s3c-plan-send-")
    try:
        stack = realstack.Stack(work)
        try:
            keys = [f"ds/d{i % a.dirs:03d}/f{i:06d}.bin" for i in range(a.files)]
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda k: stack.s3.put("data", k, b"x" * 100), keys))
            files = [os.path.join(stack.mnt, k) for k in keys]
            for d in sorted({os.path.dirname(f) for f in files}):
                os.listdir(d)  # the loader's listing: the daemon's metadata is warm, as in training
            rng = random.Random(1)
            times = []
            for r in range(a.rounds):
                paths = [files[i % a.files] for i in range(a.paths)]
                rng.shuffle(paths)
                start = time.perf_counter()
                status = stack.daemon.plan(paths, epoch=r, name="plan-send", window=1)
                seconds = time.perf_counter() - start
                times.append(seconds)
                print(json.dumps({"round": r, "paths": len(paths), "seconds": round(seconds, 3),
                                  "files": status["files"], "state": status["state"]}), flush=True)
            stack.daemon.end_plans(stack.mnt, "plan-send")
            print(json.dumps({"paths": a.paths, "distinct": a.files, "rounds": a.rounds,
                              "median_seconds": round(statistics.median(times), 3),
                              "min_seconds": round(min(times), 3), "max_seconds": round(max(times), 3)}))
        finally:
            stack.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
