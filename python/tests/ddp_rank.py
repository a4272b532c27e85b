"""One rank of the integration tests' DistributedDataParallel-style run: gloo process group,
DistributedSampler over an ImageFolder on the mount wrapped in EpochPlanSampler, one epoch through
a DataLoader with a worker. Prints one JSON line: its plan's final status, the plans active on the
mount while both ranks read, and how many samples it read.

Usage (env MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE): ddp_rank.py SOCKET DATASET_ROOT
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch.distributed as dist  # noqa: E402
from torch.utils.data import DataLoader, DistributedSampler  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

from s3cache.client import Daemon  # noqa: E402
from s3cache.torch import EpochPlanSampler  # noqa: E402


def main() -> None:
    socket, root = sys.argv[1], sys.argv[2]
    dist.init_process_group("gloo")
    daemon = Daemon(socket)
    ds = datasets.ImageFolder(root, transform=transforms.Compose([transforms.Resize(16), transforms.ToTensor()]))
    sampler = EpochPlanSampler.for_dataset(DistributedSampler(ds, shuffle=True, seed=3), ds, daemon=daemon,
                                           follow_on=False)
    sampler.set_epoch(0)
    loader = DataLoader(ds, batch_size=8, sampler=sampler, num_workers=1)
    seen, together, plan_id = 0, [], None
    for batch, _ in loader:
        if plan_id is None:
            plan_id = sampler.plan_id
            dist.barrier()  # both ranks have sent their plans and read a batch
            together = [p for p in daemon.plans(os.path.dirname(root)) if p["state"] == "active"]
            dist.barrier()
        seen += len(batch)
    dist.barrier()
    print(json.dumps({"plan": daemon.plan_status(plan_id), "together": together, "seen": seen,
                      "pid": os.getpid()}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
