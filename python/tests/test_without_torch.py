"""s3cache.torch without torch: it imports, and EpochPlanSampler still wraps any iterable sampler."""

from __future__ import annotations

import os
import subprocess
import sys

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys
sys.modules["torch"] = None          # import torch now raises ImportError, as where it is not installed
sys.path.insert(0, {path!r})
import s3cache.torch as t
from s3cache.client import Daemon
assert t.torch is None and t.EpochPlanSampler.__bases__ == (object,)
s = t.EpochPlanSampler([3, 1, 2], ["/a", "/b", "/c", "/d"], daemon=Daemon("/nonexistent/s3cache.sock"))
print(list(s), list(s), len(s))
"""


def test_the_module_imports_and_works_without_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(path=PYTHON_DIR)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[3, 1, 2] [3, 1, 2] 3"
    assert out.stderr.count("training without epoch plans") == 1
