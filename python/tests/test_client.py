"""s3cache.client.Daemon against the fake control server: requests sent, answers read, errors raised."""

from __future__ import annotations

import os
import socket

import pytest

from s3cache.client import DEFAULT_SOCKET, Daemon, DaemonError, DaemonUnavailable, socket_path


def test_socket_is_the_argument_else_the_environment_else_the_default(monkeypatch):
    monkeypatch.setenv("S3CACHE_SOCKET", "/tmp/from-env.sock")
    assert Daemon("/tmp/given.sock").socket == "/tmp/given.sock"
    assert Daemon().socket == "/tmp/from-env.sock"
    monkeypatch.delenv("S3CACHE_SOCKET")
    assert Daemon().socket == DEFAULT_SOCKET == "/run/s3cache/s3cache.sock"
    assert socket_path(None) == DEFAULT_SOCKET


def test_health_and_mounts_come_back_as_the_daemon_sends_them(daemon, fake, mnt):
    assert daemon.health()["status"] == "ok"
    assert [m["mountPoint"] for m in daemon.mounts()] == [mnt]
    assert daemon.stats(mnt)["mounts"][0]["mountPoint"] == mnt
    assert [(r.method, r.path, r.query) for r in fake.requests] == [
        ("GET", "/health", {}), ("GET", "/mounts", {}), ("GET", "/stats", {"mount": mnt})]


def test_plan_sends_the_paths_in_order_with_the_new_fields(daemon, fake, mnt):
    paths = [f"{mnt}/b", f"{mnt}/a", f"{mnt}/b"]
    status = daemon.plan(paths, epoch=3, name="train", window=8)
    assert fake.posted_plans() == [{"epoch": 3, "paths": paths, "next": False, "endWithClient": True,
                                    "name": "train", "window": 8}]
    assert (status["id"], status["name"], status["state"], status["files"]) == ("p1", "train", "active", 3)
    assert status["clientPid"] == os.getpid(), "the daemon reads the sender's pid from SO_PEERCRED"


def test_plans_plan_status_end_plan_and_end_plans(daemon, fake, mnt):
    first = daemon.plan([f"{mnt}/a"], name="x")
    queued = daemon.plan([f"{mnt}/b"], name="x", next=True)
    other = daemon.plan([f"{mnt}/c"], name="y & z", end_with_client=False)
    assert queued["state"] == "queued" and other["clientPid"] == 0
    assert [p["id"] for p in daemon.plans()] == [first["id"], queued["id"], other["id"]]
    assert [p["id"] for p in daemon.plans(mnt)] == [first["id"], queued["id"], other["id"]]
    assert daemon.end_plan(first["id"])["state"] == "ended"
    assert daemon.plan_status(queued["id"])["state"] == "active", "the follow-on takes over"
    ended = daemon.end_plans(mnt, name="y & z")
    assert [p["id"] for p in ended] == [other["id"]]
    assert fake.deletes()[-1] == {"mount": mnt, "name": "y & z"}, "the query is URL-encoded and decoded"


def test_a_refusal_raises_daemon_error_with_the_daemons_message(daemon, tmp_path):
    with pytest.raises(DaemonError) as e:
        daemon.plan([str(tmp_path / "elsewhere.jpg")])
    assert e.value.status == 404
    assert e.value.message == f"{tmp_path}/elsewhere.jpg is not under an s3cache mount of this daemon"
    assert not isinstance(e.value, DaemonUnavailable)
    with pytest.raises(DaemonError) as e:
        daemon.plan_status("p99")
    assert (e.value.status, e.value.message) == (404, "no epoch plan p99 in this daemon")


def test_a_missing_socket_raises_daemon_unavailable_naming_it(short_tmp):
    path = os.path.join(short_tmp, "none.sock")
    with pytest.raises(DaemonUnavailable) as e:
        Daemon(path).health()
    assert path in str(e.value) and e.value.status is None and e.value.socket == path


def test_a_socket_nobody_accepts_on_raises_daemon_unavailable(short_tmp):
    path = os.path.join(short_tmp, "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # the file stays, nothing listens: ECONNREFUSED
    with pytest.raises(DaemonUnavailable, match="Connection refused"):
        Daemon(path).mounts()


def test_a_daemon_that_does_not_answer_in_time_is_unavailable(short_tmp):
    path = os.path.join(short_tmp, "mute.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        s.listen(1)
        with pytest.raises(DaemonUnavailable, match="no answer within 0.2 s"):
            Daemon(path, timeout=0.2).health()


def test_preload_reads_the_stream_to_its_end(daemon, fake, mnt):
    seen = []
    last = daemon.preload([f"{mnt}/train"], parallel=8, progress=seen.append)
    assert [s["phase"] for s in seen] == ["listing", "fetching", "done"]
    assert last == seen[-1] and last["done"] is True
    assert fake.requests[-1].body == {"paths": [f"{mnt}/train"], "parallel": 8, "shardIndex": None,
                                      "shardCount": None, "dryRun": False}


def test_evict_sends_the_paths(daemon, fake, mnt):
    assert daemon.evict([f"{mnt}/a", f"{mnt}/b"])["objects"] == 2
    assert fake.requests[-1].body == {"paths": [f"{mnt}/a", f"{mnt}/b"]}


def test_a_plan_of_100000_paths_is_one_request(daemon, fake, mnt):
    paths = [f"{mnt}/class_{i % 100:03d}/img_{i:07d}.jpg" for i in range(100_000)]
    daemon.plan(paths, epoch=1)
    assert len(fake.requests) == 1, "one request, however many paths (its time is in docs/BENCHMARKS.md)"
    assert fake.posted_plans()[0]["paths"] == paths


def test_a_body_the_daemon_refuses_unread_still_gets_its_status(fake, mnt):
    fake.max_body = 1 << 20
    paths = [f"{mnt}/class_{i % 100:03d}/img_{i:07d}.jpg" for i in range(200_000)]  # ~8 MiB: EPIPE mid-body
    with pytest.raises(DaemonError) as e:
        Daemon(fake.socket).plan(paths)
    assert (e.value.status, e.value.message) == (413, "request body is larger than 1048576 bytes")
