"""PyTorch integration: :class:`EpochPlanSampler` tells the s3cache daemon each epoch's read order.

Wrap the sampler your ``DataLoader`` uses; the wrapper yields exactly what the wrapped sampler
yields, and before the first index of each epoch sends that epoch's files, in that order, to the
daemon as an epoch plan (``POST /plan``), so the daemon fetches them ahead of the reader::

    sampler = EpochPlanSampler.for_dataset(RandomSampler(ds, generator=g), ds)
    loader = DataLoader(ds, batch_size=64, num_workers=8, sampler=sampler)

Importing this module imports torch (absolutely: ``import torch`` here is PyTorch, not this
module); without torch, :class:`EpochPlanSampler` is a plain iterable with the same behaviour.
"""

from __future__ import annotations

import copy
import itertools
import logging
import operator
import os
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .client import Daemon, DaemonError, DaemonUnavailable

try:
    import torch
    from torch.utils.data import (RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                                  WeightedRandomSampler)
    _SamplerBase: Any = Sampler
    _SEEDED_TYPES: tuple = (RandomSampler, SubsetRandomSampler, WeightedRandomSampler)
    _SEQUENTIAL_TYPES: tuple = (SequentialSampler,)
except ImportError:  # the package works without torch; only the prediction of torch's samplers needs it
    torch = None
    _SamplerBase = object
    _SEEDED_TYPES = ()
    _SEQUENTIAL_TYPES = ()

__all__ = ["EpochPlanSampler"]

log = logging.getLogger("s3cache")

#: The most indices one plan request carries; longer (or endless) epochs go as follow-on plans.
MAX_PLAN_PATHS = 1_000_000

PathSource = Union[Sequence[Any], Callable[[int], Any]]

_names = itertools.count()


class EpochPlanSampler(_SamplerBase):
    """Yields what ``sampler`` yields, and sends each epoch's order to s3cache as a plan first.

    ``paths``: a sequence, or a callable, mapping an index of ``sampler`` to the file it reads
    (absolute, or relative to the current directory; symlinks are resolved before sending).
    ``daemon``: a :class:`~s3cache.client.Daemon` (default: the CLI's socket). ``name``: the plans'
    name on the daemon (default: unique per sampler and process). ``follow_on``: predict the next
    epoch's order during an epoch and queue it behind the current plan, so the next epoch starts
    warm. It applies to samplers whose next order is known without side effects: those with
    ``set_epoch`` (listed on a copy set to the next epoch; a sampler with ``set_epoch`` is taken
    to derive its order from the epoch, like ``DistributedSampler``), ``SequentialSampler``, and
    ``RandomSampler``/``SubsetRandomSampler``/``WeightedRandomSampler`` with an explicit
    ``generator`` (listed with a copy of its state). Random samplers without a generator draw
    their seed from torch's global RNG, so listing them ahead would change the training run:
    they get no prediction. A prediction is checked against the real order at the next epoch and
    resent when it differs.

    Planning never raises: with no daemon, or files the daemon refuses, the sampler yields the
    same indices and logs one warning on the ``s3cache`` logger.
    """

    def __init__(self, sampler: Any, paths: PathSource, *, daemon: Optional[Daemon] = None,
                 name: Optional[str] = None, follow_on: bool = True,
                 max_plan_paths: int = MAX_PLAN_PATHS) -> None:
        if max_plan_paths < 1:
            raise ValueError(f"max_plan_paths must be at least 1, got {max_plan_paths}")
        self.sampler = sampler
        self.follow_on = follow_on
        self.max_plan_paths = max_plan_paths
        self._paths = _PathTable(paths)
        self._planner = _Planner(daemon or Daemon(), name)
        self._epoch: Optional[int] = None
        self._iterations = 0

    @classmethod
    def for_dataset(cls, sampler: Any, dataset: Any, **kwargs: Any) -> "EpochPlanSampler":
        """An EpochPlanSampler whose paths are ``dataset.samples`` or ``dataset.imgs`` (torchvision's
        ``ImageFolder``/``DatasetFolder``: ``(path, target)`` pairs)."""
        for attribute in ("samples", "imgs"):
            pairs = getattr(dataset, attribute, None)
            if pairs is not None:
                return cls(sampler, _FirstOfPairs(pairs), **kwargs)
        raise ValueError(f"{type(dataset).__name__} has no .samples or .imgs of (path, target) pairs: "
                         "pass EpochPlanSampler(sampler, paths) with a sequence or a callable index -> path")

    # --- the Sampler protocol ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[int]:
        epoch = self._epoch if self._epoch is not None else self._iterations
        self._iterations += 1
        source = iter(self.sampler)
        chunk, carry, whole = self._next_chunk(source, [])
        planner = self._planner
        planner.start_epoch(epoch, chunk, self._paths)
        while True:
            current = planner.pop_segment()
            if current is None:
                return
            if not planner.has_segments() and not whole:
                chunk, carry, whole = self._next_chunk(source, carry)
                planner.add_segments(chunk, self._paths)
            if planner.has_segments():
                planner.queue_next(epoch, self._paths)
            elif self.follow_on and whole:
                planner.predict(epoch + 1, self._prediction(epoch + 1), self._paths, self.max_plan_paths)
            yield from current

    def _next_chunk(self, source: Iterator[int], carry: List[int]) -> Tuple[List[int], List[int], bool]:
        """The next ``max_plan_paths`` indices, what was read past them, and whether that was all."""
        limit = self.max_plan_paths
        chunk = carry + list(itertools.islice(source, limit + 1 - len(carry)))
        return chunk[:limit], chunk[limit:], len(chunk) <= limit

    def set_epoch(self, epoch: int) -> None:
        """Records the epoch (sent with the plan) and passes it to the wrapped sampler if it has one."""
        self._epoch = epoch
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    @property
    def epoch(self) -> Optional[int]:
        """The epoch last given to :meth:`set_epoch` (``None`` before)."""
        return self._epoch

    def __getattr__(self, name: str) -> Any:
        # state_dict/load_state_dict exist exactly when the wrapped sampler has them.
        if name in ("state_dict", "load_state_dict") and "sampler" in self.__dict__:
            return getattr(self.__dict__["sampler"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # --- plans ---------------------------------------------------------------------------------

    @property
    def plan_id(self) -> Optional[str]:
        """The id of the daemon plan holding the indices being yielded (``None`` without one)."""
        return self._planner.current_id

    def close(self) -> None:
        """Ends this sampler's plans on the daemon now (they also end when the process exits)."""
        self._planner.close()

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_planner"] = self._planner.fresh_copy()
        return state

    def _prediction(self, next_epoch: int) -> Optional[Callable[[], Iterator[int]]]:
        """How to iterate the next epoch's order without touching the wrapped sampler or global RNG."""
        sampler = self.sampler
        if hasattr(sampler, "set_epoch"):
            try:
                keep = {id(v): v for v in (getattr(sampler, a, None) for a in ("dataset", "data_source"))
                        if v is not None}
                twin = copy.deepcopy(sampler, keep)
            except Exception as e:  # e.g. an attribute that cannot be copied
                log.debug("s3cache: no follow-on plan: cannot copy %s: %s", type(sampler).__name__, e)
                return None
            twin.set_epoch(getattr(sampler, "epoch", next_epoch - 1) + 1)
            return lambda: iter(twin)
        if type(sampler) in _SEQUENTIAL_TYPES:
            return lambda: iter(sampler)
        if type(sampler) in _SEEDED_TYPES and sampler.generator is not None:
            twin = copy.copy(sampler)
            twin.generator = torch.Generator()
            twin.generator.set_state(sampler.generator.get_state())
            return lambda: iter(twin)
        return None


class _FirstOfPairs(Sequence):
    """``pairs[i][0]``: the path of a torchvision-style ``(path, target)`` sample."""

    def __init__(self, pairs: Sequence[Any]) -> None:
        self._pairs = pairs

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, i: Any) -> Any:
        return self._pairs[i][0]


class _PathTable:
    """Index to the absolute, symlink-free path the daemon knows, resolved once per index.

    Each directory is resolved once (``os.path.realpath``); a file in a directory on an s3cache
    mount is not resolved itself (a mount has no symlinks, and an ``lstat`` per file through FUSE
    would cost more than the whole plan), any other file is.
    """

    def __init__(self, paths: PathSource) -> None:
        self._lookup: Callable[[int], Any] = paths if callable(paths) else paths.__getitem__
        self._resolved: Dict[int, str] = {}
        self._dirs: Dict[str, tuple] = {}
        self.mount_points: Sequence[str] = ()

    def __getstate__(self) -> Dict[str, Any]:
        return {**self.__dict__, "_resolved": {}, "_dirs": {}}

    def paths(self, indices: Sequence[int]) -> List[str]:
        resolved, resolve = self._resolved, self._resolve
        out = []
        for i in indices:
            if type(i) is not int:  # e.g. 0-dim tensors from SubsetRandomSampler over a tensor
                i = operator.index(i)
            p = resolved.get(i)
            if p is None:
                p = resolved[i] = resolve(os.fspath(self._lookup(i)))
            out.append(p)
        return out

    def _resolve(self, path: str) -> str:
        head, _, tail = path.rpartition("/")
        entry = self._dirs.get(head)
        if entry is None:
            real = os.path.realpath(head or ("/" if path.startswith("/") else "."))
            real = real.rstrip("/")
            entry = self._dirs[head] = (None if real == head else real, _on_mount(real or "/", self.mount_points))
        real_dir, on_mount = entry
        if not on_mount:
            return os.path.realpath(path)
        return path if real_dir is None else real_dir + "/" + tail


def _on_mount(path: str, mount_points: Sequence[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mount_points)


class _TooLarge(Exception):
    """The daemon answered 413: the plan body passed its request limit (now in ``_max_body``)."""


class _Planner:
    """One sampler's plans on the daemon: sends them, queues follow-ons, warns once, never raises.

    ``segments`` holds the epoch's planned indices not yet yielded, cut into plan requests; the
    head is the one being yielded or planned next. Sends that may take long (follow-ons,
    predictions) run on one background thread at a time; the iterating thread joins it before it
    touches ``segments`` or the plan ids again.
    """

    def __init__(self, daemon: Daemon, name: Optional[str]) -> None:
        self.daemon = daemon
        self._given_name = name
        self._name: Optional[str] = None
        self._name_pid = 0
        self.segments: List[List[int]] = []
        self.current_id: Optional[str] = None
        self._queued_id: Optional[str] = None
        self._started = False
        self._mount: Optional[str] = None
        self._mounts_known = False
        self._max_body: Optional[int] = None
        self._off: Optional[str] = None
        self._unreachable = False
        self._warned = False
        self._prediction: Optional[_Prediction] = None
        self._thread: Optional[threading.Thread] = None

    def fresh_copy(self) -> "_Planner":
        """The same daemon and name, no plans: what a pickled copy of the sampler starts with."""
        return _Planner(self.daemon, self._given_name)

    @property
    def name(self) -> str:
        """The plans' name: the one given, else unique per sampler and process."""
        if self._given_name is not None:
            return self._given_name
        if self._name is None or self._name_pid != os.getpid():  # a forked copy gets its own
            self._name_pid = os.getpid()
            self._name = f"torch-{self._name_pid}-{next(_names)}"
        return self._name

    # --- called by the sampler -----------------------------------------------------------------

    def start_epoch(self, epoch: int, order: List[int], table: _PathTable) -> None:
        """Takes the epoch's first chunk and plans its first segment, or promotes the prediction."""
        self._join()
        prediction, self._prediction = self._prediction, None
        self._queued_id = None
        self._started = False
        self._unreachable = self._off is None and not self._learn_mounts(table)
        self.segments = self._split(order, table)
        if not self.segments or self._plans_off():
            return
        if prediction is not None and prediction.plan_id and prediction.order == order:
            self._promote(prediction.plan_id)
        else:
            self._send_head(epoch, table, follow=False)

    def pop_segment(self) -> Optional[List[int]]:
        """The next segment to yield; the plan queued for it becomes the current one."""
        self._join()
        if not self.segments:
            return None
        if self._started and self._queued_id is not None:
            self.current_id, self._queued_id = self._queued_id, None
        self._started = True
        return self.segments.pop(0)

    def has_segments(self) -> bool:
        return bool(self.segments)

    def add_segments(self, order: List[int], table: _PathTable) -> None:
        self.segments.extend(self._split(order, table))

    def queue_next(self, epoch: int, table: _PathTable) -> None:
        """Queues the head segment behind the current plan, in the background."""
        if not self._plans_off():
            self._background(lambda: self._send_head(epoch, table, follow=True))

    def predict(self, epoch: int, listing: Optional[Callable[[], Iterator[int]]], table: _PathTable,
                limit: int) -> None:
        """Lists the next epoch's first chunk (``limit`` indices) in the background and queues its
        first segment behind the current plan."""
        if self._plans_off() or listing is None:
            return
        prediction = self._prediction = _Prediction()

        def run() -> None:
            prediction.order = list(itertools.islice(listing(), limit))
            if not prediction.order:
                return
            try:
                prediction.plan_id = self._send(epoch, self._split(prediction.order, table)[0], table,
                                                follow=True, track=False)
            except _TooLarge:
                prediction.plan_id = self._send(epoch, self._split(prediction.order, table)[0], table,
                                                follow=True, track=False)

        self._background(run)

    def close(self) -> None:
        """Ends the plans of this sampler's name on its mount."""
        self._join()
        if self._mount is not None and self._off is None:
            try:
                self.daemon.end_plans(self._mount, self.name)
            except DaemonError as e:
                log.debug("s3cache: ending plans %s: %s", self.name, e)
        self.current_id = self._queued_id = None
        self._prediction = None

    # --- talking to the daemon -----------------------------------------------------------------

    def _send_head(self, epoch: int, table: _PathTable, follow: bool) -> None:
        """Plans ``segments[0]``; after a 413, cuts it to the daemon's limit and plans the first part."""
        try:
            self._send(epoch, self.segments[0], table, follow)
        except _TooLarge:
            self.segments[0:1] = self._split(self.segments[0], table)
            self._send(epoch, self.segments[0], table, follow)

    def _send(self, epoch: int, segment: List[int], table: _PathTable, follow: bool,
              track: bool = True) -> Optional[str]:
        """POST /plan; the plan's id, or None after a warning. Raises _TooLarge on the first 413.

        ``track``: the plan holds indices of this epoch (current, or queued for the next segment).
        """
        try:
            paths = table.paths(segment)
            status = self.daemon.plan(paths, epoch=epoch, name=self.name, next=follow, end_with_client=True)
        except DaemonError as e:
            if e.status == 413 and self._max_body is None:
                self._max_body = _limit_from(e.message)
                log.debug("s3cache: plans cut into requests of at most %d bytes: %s", self._max_body, e)
                raise _TooLarge() from e
            self._failed(e, permanent=e.status in (400, 404, 409, 413))
            return None
        except Exception as e:  # a path lookup or a bug: never an exception in a training loop
            self._failed(e, permanent=True)
            return None
        plan_id = status.get("id")
        self._mount = status.get("mountPoint", self._mount)
        if track and follow:
            self._queued_id = plan_id
        elif track:
            self.current_id = plan_id
        return plan_id

    def _promote(self, plan_id: str) -> None:
        """The prediction held: end the previous plan so the queued one takes over (not resent).

        Usually the previous plan finished when its last file was opened and every block was asked
        for, and the follow-on took over then; ending a plan that is over already changes nothing
        (the daemon answers it as it is). A reader that never opens the last file (a
        ``BatchSampler`` with ``drop_last``) leaves it active: ending it hands over.
        """
        previous, self.current_id = self.current_id, plan_id
        if previous is None:
            return
        try:
            self.daemon.end_plan(previous)
        except DaemonError as e:
            if e.status == 404:  # the mount went away (its plans with it)
                log.debug("s3cache: plan %s already gone: %s", previous, e)
            else:
                self._failed(e, permanent=False)

    def _split(self, order: List[int], table: _PathTable) -> List[List[int]]:
        """``order`` cut into segments whose plan bodies fit the daemon's request limit."""
        if not order:
            return []
        if self._max_body is None or self._plans_off():
            return [order]
        return _split(order, table.paths(order), self._max_body)

    def _plans_off(self) -> bool:
        """No plans now: refused for good, or no daemon answered at this epoch's start."""
        return self._off is not None or self._unreachable

    def _learn_mounts(self, table: _PathTable) -> bool:
        """Reads the daemon's mount points once (to resolve paths); False if no daemon answers."""
        if self._mounts_known:
            return True
        try:
            table.mount_points = [m["mountPoint"] for m in self.daemon.mounts()]
            self._mounts_known = True
        except DaemonUnavailable as e:
            self._failed(e, permanent=False)
            return False
        except DaemonError:
            pass  # the plan request says why
        return True

    def _failed(self, error: Exception, permanent: bool) -> None:
        if permanent:
            self._off = str(error)
        if not self._warned:
            self._warned = True
            when = "for this sampler" if permanent else "until the daemon answers"
            log.warning("s3cache: training without epoch plans %s: %s", when, error)
        else:
            log.debug("s3cache: plan not sent: %s", error)

    # --- the background thread -----------------------------------------------------------------

    def _background(self, work: Callable[[], None]) -> None:
        self._join()

        def run() -> None:
            try:
                work()
            except Exception as e:  # e.g. a user's sampler failing on its copy: only no follow-on
                log.debug("s3cache: no follow-on plan: %s", e, exc_info=True)

        self._thread = threading.Thread(target=run, name=f"s3cache-plan-{self.name}", daemon=True)
        self._thread.start()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class _Prediction:
    """The next epoch's predicted order and the id of the follow-on plan that carries it."""

    def __init__(self) -> None:
        self.order: Optional[List[int]] = None
        self.plan_id: Optional[str] = None


def _limit_from(message: str) -> int:
    """The byte limit a 413 names ("... larger than 1048576 bytes"), less room for the rest of the
    body (epoch, name, flags: under 200 bytes)."""
    digits = [int(w) for w in message.split() if w.isdigit()]
    limit = digits[-1] if digits else 1 << 20
    return limit - min(512, limit // 4)


def _split(order: List[int], paths: List[str], max_body: int) -> List[List[int]]:
    """Cuts ``order`` where the JSON of its paths would pass ``max_body`` bytes."""
    segments, start, size = [], 0, 0
    for i, p in enumerate(paths):
        cost = len(p.encode()) + 3 if not p.isascii() else len(p) + 3
        if size + cost > max_body and i > start:
            segments.append(order[start:i])
            start, size = i, 0
        size += cost
    segments.append(order[start:])
    return segments
