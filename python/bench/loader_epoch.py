"""Timed PyTorch DataLoader epochs over an image folder: the reader of ``bin/s3cache bench-torch``.

One process (or, with ``--ddp N``, N processes of one gloo group) reads ``--epochs`` epochs of a
torchvision ``ImageFolder`` at ``--root`` through ``DataLoader(batch_size, num_workers)``: each image
decoded by PIL, resized to 64x64 and made a tensor; with ``--model small-cnn`` one SGD step of a
small CNN per batch (wrapped in DistributedDataParallel under ``--ddp``). The order comes from a
fixed-seed ``RandomSampler(generator=torch.Generator().manual_seed(seed))`` (under ``--ddp``,
``DistributedSampler(ds, num_replicas=N, rank=r, seed=seed)`` with ``set_epoch``); with ``--plan``
that sampler is wrapped in ``s3cache.torch.EpochPlanSampler``, so every row reads the same order.

Prints one JSON object per line on stdout (anything else it prints is not JSON):

- ``{"event": "dataset", ...}`` once per process: files, classes, the listing's seconds;
- ``{"event": "epoch", ...}`` per epoch (and rank): ``seconds``, ``files``, ``filesPerSecond``,
  ``firstBatchSeconds`` (from creating the loader's iterator to the first batch, the plan's
  sending included), ``slowestBatchSeconds`` (the longest wait for one batch), and with
  ``--socket`` the daemon's S3 GETs during the epoch and during its first ``--first-batches``
  batches (``firstBatches``: that count, or fewer in a shorter epoch) (daemon-wide: under ``--ddp`` both ranks' and any prefetch's), and for ``--plan`` the
  final figures of the epoch's plan (``GET /plan?id=``).

``--drop-caches`` drops the kernel's page cache before each epoch (``sync``, then 3 to
``/proc/sys/vm/drop_caches``; root only), outside the epoch's time. Run with Debian's
``/usr/bin/python3`` (python3-torch, python3-torchvision) and ``PYTHONPATH`` holding ``python/``.
"""

from __future__ import annotations

import argparse
import resource
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, Optional

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from torchvision import datasets, transforms

from s3cache.client import Daemon, DaemonError
from s3cache.torch import EpochPlanSampler


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="ImageFolder root (class directories under it)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--plan", action="store_true", help="wrap the sampler in s3cache's EpochPlanSampler")
    p.add_argument("--socket", help="the s3cache daemon's control socket (plans and GET counts)")
    p.add_argument("--drop-caches", action="store_true", help="drop the page cache before each epoch (root)")
    p.add_argument("--model", choices=["none", "small-cnn"], default="none")
    p.add_argument("--ddp", type=int, default=0, help="ranks of a gloo group on this host (0: one process)")
    p.add_argument("--first-batches", type=int, default=10, help="GETs are also counted over this many batches")
    p.add_argument("--row", default="", help="a label echoed in every JSON line")
    p.add_argument("--rank", type=int, help=argparse.SUPPRESS)  # set by the --ddp launcher for its children
    a = p.parse_args(argv)
    if a.epochs < 1 or a.batch < 1 or a.workers < 0 or a.ddp < 0 or a.ddp == 1 or a.first_batches < 1:
        p.error("--epochs, --batch and --first-batches must be >= 1, --workers >= 0, --ddp 0 or >= 2")
    if a.plan and not a.socket:
        p.error("--plan needs --socket")
    return a


def emit(obj: Dict[str, Any]) -> None:
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


class SmallCnn(torch.nn.Module):
    """Two 3x3 convolutions with pooling and a linear head: a step costs a few ms per batch."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.head = torch.nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def gets(daemon: Optional[Daemon]) -> Optional[int]:
    if daemon is None:
        return None
    try:
        return int(daemon.stats()["requests"]["get"])
    except (DaemonError, KeyError, TypeError, ValueError) as e:
        print(f"loader_epoch: no GET count from the daemon: {e}", file=sys.stderr, flush=True)
        return None


def plan_figures(daemon: Daemon, sampler: EpochPlanSampler) -> Optional[Dict[str, Any]]:
    plan_id = sampler.plan_id
    if plan_id is None:
        return None
    try:
        s = daemon.plan_status(plan_id)
    except DaemonError as e:
        return {"id": plan_id, "error": str(e)}
    keys = ("id", "name", "epoch", "files", "readerPosition", "state", "onDemandGets", "prefetchedBlocks",
            "prefetchedBytes", "alreadyCachedBlocks", "inflightBlocks")
    return {k: s.get(k) for k in keys}


def run(rank: int, a: argparse.Namespace, world: int) -> None:
    distributed = world > 1
    if distributed:
        dist.init_process_group("gloo", rank=rank, world_size=world)
    daemon = Daemon(a.socket) if a.socket else None
    start = time.perf_counter()
    tf = transforms.Compose([transforms.Resize((a.image_size, a.image_size)), transforms.ToTensor()])
    ds = datasets.ImageFolder(a.root, transform=tf)
    emit({"event": "dataset", "row": a.row, "rank": rank if distributed else None, "files": len(ds),
          "classes": len(ds.classes), "listSeconds": round(time.perf_counter() - start, 4)})
    if distributed:
        base = DistributedSampler(ds, num_replicas=world, rank=rank, seed=a.seed)
    else:
        base = RandomSampler(ds, generator=torch.Generator().manual_seed(a.seed))
    sampler = EpochPlanSampler.for_dataset(base, ds, daemon=daemon) if a.plan else base
    loader = DataLoader(ds, batch_size=a.batch, num_workers=a.workers, sampler=sampler)
    model = opt = None
    if a.model == "small-cnn":
        torch.manual_seed(a.seed)
        model = SmallCnn(len(ds.classes))
        if distributed:
            model = torch.nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(a.epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        if distributed:
            dist.barrier()
        if a.drop_caches and rank == 0:
            drop_caches()
        if distributed:
            dist.barrier()  # every rank starts its epoch after the drop, and together
        gets0 = gets(daemon)
        gets_first = None
        files = batches = 0
        slowest = first = 0.0
        t0 = last = time.perf_counter()
        for x, y in loader:
            now = time.perf_counter()
            wait = now - last
            if batches == 0:
                first = wait
            slowest = max(slowest, wait)
            batches += 1
            files += len(y)
            if batches == a.first_batches:
                g = gets(daemon)
                gets_first = None if g is None or gets0 is None else g - gets0
            if model is not None:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
            last = time.perf_counter()
        seconds = time.perf_counter() - t0
        gets1 = gets(daemon)
        if batches < a.first_batches:  # a short epoch: its first batches are all of it
            gets_first = None if gets1 is None or gets0 is None else gets1 - gets0
        line = {"event": "epoch", "row": a.row, "rank": rank if distributed else None, "epoch": epoch + 1,
                "seconds": round(seconds, 4), "files": files, "batches": batches,
                "filesPerSecond": round(files / seconds, 2), "firstBatchSeconds": round(first, 4),
                "slowestBatchSeconds": round(slowest, 4),
                "s3Gets": None if gets0 is None or gets1 is None else gets1 - gets0,
                "s3GetsFirstBatches": gets_first, "firstBatches": min(a.first_batches, batches),
                "plan": plan_figures(daemon, sampler) if a.plan else None}
        emit(line)
    if a.plan:
        sampler.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(a: argparse.Namespace, argv) -> int:
    """Starts the ranks as torchrun does: one process each (this script with ``--rank``), env rendezvous.

    Not torch.multiprocessing.spawn: a spawned rank's DataLoader workers would be spawned too, each
    importing torch again at every epoch's start, which torchrun's ranks (forked workers) do not pay.
    """
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE=str(a.ddp))
    args = list(sys.argv[1:] if argv is None else argv)
    ranks = [subprocess.Popen([sys.executable, os.path.abspath(__file__), *args, "--rank", str(r)],
                              env=dict(env, RANK=str(r), LOCAL_RANK=str(r))) for r in range(a.ddp)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # to the finally below
    status = 0
    try:
        for r in ranks:
            status = r.wait() or status
    finally:
        for r in ranks:  # one rank failed (or we were interrupted): the others would wait forever
            if r.poll() is None:
                r.kill()
                r.wait()
    return status


def print_cpu(row: str) -> None:
    """The CPU seconds of this process and every process it waited for (loader workers, DDP ranks
    and theirs): what the reading and decoding cost, for the benchmark's CPU table."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps({"event": "cpu", "row": row, "seconds": round(seconds, 2)}), flush=True)


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.ddp and a.rank is None:
        status = launch(a, argv)
        print_cpu(a.row)
        return status
    if a.ddp:
        run(a.rank, a, a.ddp)
    else:
        run(0, a, 1)
        print_cpu(a.row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
