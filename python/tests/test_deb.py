"""The .deb carries the Python package for Debian's python3, and nothing of its tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_deb_installs_the_package_under_dist_packages():
    debs = glob.glob(f"{ROOT}/dist/target/s3cache_*.deb")
    if not debs:
        pytest.skip("no dist/target/s3cache_*.deb: build with mvn -B -DskipTests package first")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("needs dpkg-deb (a Debian-like host)")
    listing = subprocess.run(["dpkg-deb", "-c", debs[0]], check=True, capture_output=True, text=True).stdout
    shipped = sorted(line.split()[-1].lstrip(".") for line in listing.splitlines()
                     if "/dist-packages/" in line and not line.startswith("d"))
    sources = sorted(f"/usr/lib/python3/dist-packages/s3cache/{f}"
                     for f in os.listdir(f"{ROOT}/python/s3cache") if f.endswith(".py"))
    assert shipped == sources and "/usr/lib/python3/dist-packages/s3cache/torch.py" in shipped
    for line in listing.splitlines():
        if "/dist-packages/s3cache/" in line and not line.startswith("d"):
            assert line.startswith("-rw-r--r--"), line
