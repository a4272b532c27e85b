"""s3cache: a client of the s3cache daemon's control socket, and epoch plans for PyTorch.

- :mod:`s3cache.client`: :class:`~s3cache.client.Daemon` (plans, stats, preload, evict) and its
  errors; standard library only.
- :mod:`s3cache.torch`: :class:`~s3cache.torch.EpochPlanSampler`, which sends a ``DataLoader``'s
  read order to the daemon each epoch (imports torch, so it is not imported here).
"""

from .client import Daemon, DaemonError, DaemonUnavailable

__all__ = ["Daemon", "DaemonError", "DaemonUnavailable"]
__version__ = "0.1.0"
