"""EpochPlanSampler against the fake daemon: it yields what the wrapped sampler yields, and plans it."""

from __future__ import annotations

import logging
import os
import pickle

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed for this Python (use /usr/bin/python3)")

from torch.utils.data import (BatchSampler, DataLoader, Dataset, DistributedSampler,  # noqa: E402
                              RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                              WeightedRandomSampler)

from s3cache.client import Daemon  # noqa: E402
from s3cache.torch import EpochPlanSampler  # noqa: E402

N = 50


class Indexed(Dataset):
    """Item i is i: a DataLoader's batches show the indices it read."""

    def __init__(self, n: int = N) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


class EveryThird(Sampler):
    """A user's own sampler with state: yields i, i+3, ... and resumes where state_dict left it."""

    def __init__(self, n: int) -> None:
        self.n, self.start = n, 0

    def __iter__(self):
        order = [i for r in range(3) for i in range(r, self.n, 3)]
        yield from order[self.start:]

    def __len__(self) -> int:
        return self.n - self.start

    def state_dict(self):
        return {"start": self.start}

    def load_state_dict(self, state):
        self.start = state["start"]


def _gen(seed: int):
    return torch.Generator().manual_seed(seed)


# Each factory builds the same sampler every time it is called (same seed, same arguments).
SAMPLERS = {
    "random": lambda: RandomSampler(range(N), generator=_gen(1)),
    "random-replacement": lambda: RandomSampler(range(N), replacement=True, num_samples=70, generator=_gen(2)),
    "sequential": lambda: SequentialSampler(range(N)),
    "weighted": lambda: WeightedRandomSampler([1.0] * 10 + [5.0] * (N - 10), 60, generator=_gen(3)),
    "subset-random": lambda: SubsetRandomSampler(list(range(5, N, 2)), generator=_gen(4)),
    "distributed": lambda: DistributedSampler(range(N), num_replicas=2, rank=1, shuffle=True, seed=5),
    "users-own": lambda: EveryThird(N),
}


@pytest.fixture
def paths(mnt):
    return [f"{mnt}/class_{i % 3}/img_{i:03d}.jpg" for i in range(N)]


def _epochs(sampler, epochs: int = 3):
    out = []
    for e in range(epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(e)
        out.append(list(sampler))
    return out


def _first_posts(fake):
    """The plans that started an epoch (not queued follow-ons)."""
    return [b for b in fake.posted_plans() if not b["next"]]


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
def test_yields_the_wrapped_samplers_indices_and_plans_them_in_that_order(kind, daemon, fake, paths):
    expected = _epochs(SAMPLERS[kind]())
    wrapped = EpochPlanSampler(SAMPLERS[kind](), paths, daemon=daemon)
    assert _epochs(wrapped) == expected
    assert len(wrapped) == len(SAMPLERS[kind]())
    first = fake.posted_plans()[0]
    assert first["paths"] == [paths[i] for i in expected[0]] and first["next"] is False
    assert first["endWithClient"] is True and first["name"].startswith(f"torch-{os.getpid()}-")
    # Every epoch's order reached the daemon: sent fresh, or predicted, queued and promoted.
    for epoch, order in enumerate(expected):
        planned = [b["paths"] for b in fake.posted_plans() if b["epoch"] == epoch]
        assert [paths[i] for i in order] in planned


def test_a_random_sampler_without_generator_draws_the_global_rng_as_it_would_alone(daemon, fake, paths):
    torch.manual_seed(7)
    expected = _epochs(RandomSampler(range(N)))
    after_plain = torch.rand(1)
    torch.manual_seed(7)
    assert _epochs(EpochPlanSampler(RandomSampler(range(N)), paths, daemon=daemon)) == expected
    assert torch.equal(torch.rand(1), after_plain), "the wrapper drew from the global RNG"
    assert not any(b["next"] for b in fake.posted_plans()), "no prediction without a generator"
    assert len(_first_posts(fake)) == 3


def test_a_correct_prediction_is_promoted_by_ending_the_previous_plan(daemon, fake, paths):
    expected = _epochs(SAMPLERS["random"](), 2)
    sampler = EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon)
    first = list(sampler)
    first_id = sampler.plan_id
    follow_on = fake.posted_plans()[1]
    assert follow_on["next"] is True and follow_on["epoch"] == 1
    assert follow_on["paths"] == [paths[i] for i in expected[1]], "queued during epoch 0"
    assert list(sampler) == expected[1] and first == expected[0]
    assert fake.deletes() == [{"id": first_id}]
    assert len(_first_posts(fake)) == 1, "the follow-on took over: not resent"
    assert fake.plans[sampler.plan_id].state == "active" and fake.plans[first_id].state == "ended"


def test_a_distributed_sampler_is_predicted_for_its_next_epoch(daemon, fake, paths):
    plain = SAMPLERS["distributed"]()
    sampler = EpochPlanSampler(SAMPLERS["distributed"](), paths, daemon=daemon)
    sampler.set_epoch(0)
    list(sampler)
    plain.set_epoch(1)
    assert fake.posted_plans()[1]["paths"] == [paths[i] for i in plain]
    assert sampler.sampler.epoch == 0, "the prediction used a copy"
    sampler.set_epoch(1)
    assert list(sampler) == list(plain)
    assert len(_first_posts(fake)) == 1 and len(fake.deletes()) == 1


def test_a_wrong_prediction_is_replaced_by_the_real_order(daemon, fake, paths):
    g = _gen(1)
    sampler = EpochPlanSampler(RandomSampler(range(N), generator=g), paths, daemon=daemon)
    list(sampler)
    stale = fake.posted_plans()[1]["paths"]
    g.manual_seed(99)  # something else moved the generator between epochs
    second = list(sampler)
    assert second == list(RandomSampler(range(N), generator=_gen(99)))
    resent = _first_posts(fake)[1]
    assert resent["paths"] == [paths[i] for i in second] != stale
    assert not any("id" in d for d in fake.deletes()), "nothing promoted"
    assert [p.state for p in fake.plans.values()].count("active") == 1


def test_the_dataloader_generator_trap_is_caught_by_the_check(daemon, fake, paths):
    """DataLoader(generator=g) draws its base seed from g before the sampler runs: the order
    predicted during epoch 0 is not the one epoch 1 reads, and the real one is sent."""
    g = _gen(1)
    sampler = EpochPlanSampler(RandomSampler(range(N), generator=g), paths, daemon=daemon)
    loader = DataLoader(Indexed(), batch_size=10, sampler=sampler, generator=g)
    epochs = [torch.cat(list(loader)).tolist() for _ in range(2)]
    g2 = _gen(1)
    plain = DataLoader(Indexed(), batch_size=10, sampler=RandomSampler(range(N), generator=g2), generator=g2)
    assert epochs == [torch.cat(list(plain)).tolist() for _ in range(2)]
    assert [b["paths"] for b in _first_posts(fake)] == [[paths[i] for i in e] for e in epochs]


def test_no_daemon_yields_the_same_indices_with_one_warning(short_tmp, paths, caplog):
    looked_up = []
    sampler = EpochPlanSampler(SAMPLERS["random"](), lambda i: looked_up.append(i) or paths[i],
                               daemon=Daemon(os.path.join(short_tmp, "no.sock")))
    with caplog.at_level(logging.WARNING, logger="s3cache"):
        assert _epochs(sampler) == _epochs(SAMPLERS["random"]())
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "s3cache"
    assert "no s3cache daemon answers on" in warnings[0].getMessage()
    assert looked_up == [], "no path is resolved for a plan nobody receives"


def test_paths_outside_every_mount_yield_the_same_indices_with_one_warning(daemon, fake, tmp_path, caplog):
    outside = [str(tmp_path / f"{i}.jpg") for i in range(N)]
    sampler = EpochPlanSampler(SAMPLERS["random"](), outside, daemon=daemon)
    with caplog.at_level(logging.WARNING, logger="s3cache"):
        assert _epochs(sampler) == _epochs(SAMPLERS["random"]())
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "is not under an s3cache mount of this daemon" in warnings[0].getMessage()
    assert len(fake.posted_plans()) == 1, "a refused plan is not resent every epoch"


def test_a_paths_callable_that_fails_does_not_stop_training(daemon, fake, caplog):
    def broken(i: int) -> str:
        raise KeyError(i)

    with caplog.at_level(logging.WARNING, logger="s3cache"):
        assert _epochs(EpochPlanSampler(SAMPLERS["sequential"](), broken, daemon=daemon), 2) == \
            _epochs(SAMPLERS["sequential"](), 2)
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_paths_through_symlinks_are_sent_resolved(daemon, fake, mnt, short_tmp):
    os.makedirs(f"{mnt}/train")
    for i in range(3):
        open(f"{mnt}/train/{i}.jpg", "w").close()
    os.symlink(f"{mnt}/train", f"{short_tmp}/linked-dir")
    os.symlink(f"{mnt}/train/2.jpg", f"{short_tmp}/linked-file.jpg")
    given = [f"{short_tmp}/linked-dir/0.jpg", f"{mnt}/train/1.jpg", f"{short_tmp}/linked-file.jpg"]
    list(EpochPlanSampler(SequentialSampler(range(3)), given, daemon=daemon))
    assert fake.posted_plans()[0]["paths"] == [f"{mnt}/train/{i}.jpg" for i in range(3)]


def test_relative_paths_are_sent_absolute(daemon, fake, mnt, monkeypatch):
    monkeypatch.chdir(mnt)
    list(EpochPlanSampler(SequentialSampler(range(2)), lambda i: f"sub/{i}.jpg", daemon=daemon))
    assert fake.posted_plans()[0]["paths"] == [f"{mnt}/sub/0.jpg", f"{mnt}/sub/1.jpg"]


def test_inside_a_batch_sampler(daemon, fake, paths):
    batches = BatchSampler(EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon), 8, drop_last=False)
    assert list(batches) == list(BatchSampler(SAMPLERS["random"](), 8, drop_last=False))
    assert len(batches) == 7


@pytest.mark.parametrize("workers,persistent", [(0, False), (2, False), (2, True)])
def test_a_dataloader_reads_the_same_batches(daemon, fake, paths, workers, persistent):
    def loader(sampler):
        return DataLoader(Indexed(), batch_size=8, sampler=sampler, num_workers=workers,
                          persistent_workers=persistent)

    ours = loader(EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon))
    plain = loader(SAMPLERS["random"]())
    read = [[b.tolist() for b in ours] for _ in range(2)]
    assert read == [[b.tolist() for b in plain] for _ in range(2)]
    assert len(ours) == 7
    planned = [b["paths"] for b in fake.posted_plans() if b["epoch"] == 0 and not b["next"]]
    assert planned == [[paths[i] for batch in read[0] for i in batch]]


def test_set_epoch_is_passed_through_and_sent(daemon, fake, paths):
    sampler = EpochPlanSampler(SAMPLERS["distributed"](), paths, daemon=daemon)
    sampler.set_epoch(4)
    assert sampler.sampler.epoch == 4 and sampler.epoch == 4
    list(sampler)
    assert fake.posted_plans()[0]["epoch"] == 4
    seq = EpochPlanSampler(SAMPLERS["sequential"](), paths, daemon=daemon)
    seq.set_epoch(2)  # no set_epoch to pass on: only recorded
    assert seq.epoch == 2


def test_state_dict_passes_through_only_when_the_wrapped_sampler_has_it(daemon, fake, paths):
    sampler = EpochPlanSampler(EveryThird(N), paths, daemon=daemon)
    sampler.load_state_dict({"start": 40})
    assert sampler.state_dict() == {"start": 40} and len(sampler) == 10
    assert list(sampler) == list(EveryThird(N))[40:]
    assert fake.posted_plans()[0]["paths"] == [paths[i] for i in list(EveryThird(N))[40:]]
    assert not hasattr(EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon), "state_dict")


def test_long_epochs_go_as_a_chain_of_follow_on_plans(daemon, fake, paths):
    expected = list(SAMPLERS["random-replacement"]())  # 70 indices
    sampler = EpochPlanSampler(SAMPLERS["random-replacement"](), paths, daemon=daemon, max_plan_paths=30)
    ids = []
    out = []
    for i in sampler:
        out.append(i)
        if len(out) in (1, 31, 61):
            ids.append(sampler.plan_id)
            fake.finish(sampler.plan_id) if len(out) < 61 else None
    assert out == expected
    posts = [b for b in fake.posted_plans() if b["epoch"] == 0]
    assert [(len(b["paths"]), b["next"]) for b in posts] == [(30, False), (30, True), (10, True)]
    assert [p for b in posts for p in b["paths"]] == [paths[i] for i in expected]
    assert len(set(ids)) == 3, "each chunk's plan becomes the current one in turn"


def test_an_endless_sampler_is_planned_chunk_by_chunk(daemon, fake, paths):
    class Endless(Sampler):
        def __iter__(self):
            i = 0
            while True:
                yield i % N
                i += 1

    it = iter(EpochPlanSampler(Endless(None), paths, daemon=daemon, max_plan_paths=20))
    assert [next(it) for _ in range(45)] == [i % N for i in range(45)]
    assert [len(b["paths"]) for b in fake.posted_plans()] == [20, 20, 20]


def test_a_plan_over_the_daemons_body_limit_is_cut_into_follow_ons(fake, paths, caplog):
    fake.max_body = 1200  # ~45 bytes a path: about 20 paths a request
    sampler = EpochPlanSampler(SAMPLERS["random"](), paths, daemon=Daemon(fake.socket), follow_on=False)
    with caplog.at_level(logging.WARNING, logger="s3cache"):
        assert list(sampler) == list(SAMPLERS["random"]())
    accepted = [r.body for r in fake.requests if r.path == "/plan" and r.body is not None]
    assert [p for b in accepted for p in b["paths"]] == [paths[i] for i in SAMPLERS["random"]()]
    assert [b["next"] for b in accepted] == [False] + [True] * (len(accepted) - 1)
    assert not caplog.records


def test_follow_on_false_sends_no_prediction(daemon, fake, paths):
    _epochs(EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon, follow_on=False), 2)
    assert [b["next"] for b in fake.posted_plans()] == [False, False]


def test_close_ends_this_samplers_plans(daemon, fake, paths, mnt):
    sampler = EpochPlanSampler(SAMPLERS["sequential"](), paths, daemon=daemon, name="val")
    list(sampler)
    sampler.close()
    assert fake.deletes()[-1] == {"mount": mnt, "name": "val"}
    assert all(p.state == "ended" for p in fake.plans.values())


def test_samplers_get_names_of_their_own_and_survive_pickling(daemon, fake, paths):
    a = EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon)
    b = EpochPlanSampler(SAMPLERS["random"](), paths, daemon=daemon)
    list(a), list(b)
    names = {p["name"] for p in fake.posted_plans()}
    assert len(names) == 2
    seq = EpochPlanSampler(SAMPLERS["sequential"](), paths, daemon=daemon)
    list(seq)
    copy = pickle.loads(pickle.dumps(seq))  # a torch 1.13 Generator cannot be pickled: no RandomSampler here
    assert copy.plan_id is None, "a copy starts without the original's plans"
    assert list(copy) == list(range(N))
    assert fake.posted_plans()[-1]["name"] not in names | {fake.posted_plans()[-3]["name"]}


def test_for_dataset_reads_samples_or_imgs_and_says_when_there_are_none(daemon, fake, mnt):
    class Folder:
        samples = [(f"{mnt}/a.jpg", 0), (f"{mnt}/b.jpg", 1)]

    class Old:
        imgs = [(f"{mnt}/c.jpg", 0), (f"{mnt}/d.jpg", 1)]

    list(EpochPlanSampler.for_dataset(SequentialSampler(range(2)), Folder(), daemon=daemon))
    list(EpochPlanSampler.for_dataset(SequentialSampler(range(2)), Old(), daemon=daemon))
    assert [b["paths"] for b in _first_posts(fake)] == [[f"{mnt}/a.jpg", f"{mnt}/b.jpg"],
                                                       [f"{mnt}/c.jpg", f"{mnt}/d.jpg"]]
    with pytest.raises(ValueError, match=r"Indexed has no \.samples or \.imgs"):
        EpochPlanSampler.for_dataset(SequentialSampler(range(2)), Indexed(), daemon=daemon)


def test_importing_the_module_imports_the_real_torch():
    import s3cache.torch as ours
    assert ours.torch is torch and issubclass(ours.EpochPlanSampler, torch.utils.data.Sampler)


def test_an_epoch_of_100000_files_is_planned_in_one_request_before_its_first_index(daemon, fake, mnt):
    n = 100_000
    paths = [f"{mnt}/class_{i % 100:03d}/img_{i:07d}.jpg" for i in range(n)]
    sampler = EpochPlanSampler(RandomSampler(range(n), generator=_gen(0)), paths, daemon=daemon, follow_on=False)
    first = next(iter(sampler))
    assert [len(b["paths"]) for b in fake.posted_plans()] == [n], "one request (its time: docs/BENCHMARKS.md)"
    assert fake.posted_plans()[0]["paths"][0] == paths[first]


def test_tensor_indices_are_planned_by_their_value(daemon, fake, paths):
    def make():
        return SubsetRandomSampler(torch.arange(0, N, 5), generator=_gen(6))  # yields 0-dim tensors

    sampler = EpochPlanSampler(make(), paths, daemon=daemon)
    got = [[int(i) for i in e] for e in _epochs(sampler)]
    assert got == [[int(i) for i in e] for e in _epochs(make())]
    assert _first_posts(fake)[0]["paths"] == [paths[i] for i in got[0]]
    assert len(sampler._paths._resolved) == N // 5, "one cached path per index, not per tensor object"
