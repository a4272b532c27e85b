"""A trainer process for the integration tests: plans PATHS_FILE's paths under NAME (ended with
this process), opens and reads the first READ of them, prints the plan's id and its pid as JSON,
then waits until its stdin closes.

Usage: plan_client.py SOCKET NAME READ PATHS_FILE
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from s3cache.client import Daemon  # noqa: E402


def main() -> None:
    socket, name, read, paths_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(paths_file) as f:
        paths = f.read().split("\n")
    status = Daemon(socket).plan(paths, name=name, end_with_client=True)
    for p in paths[:read]:
        with open(p, "rb") as f:
            f.read()
    print(json.dumps({"id": status["id"], "pid": os.getpid()}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
