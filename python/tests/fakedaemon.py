"""A fake s3cache control server on a Unix socket, for unit tests of the client and the sampler.

It answers the routes the Python package uses with the shapes of the real daemon
(docs/CONTROL-API.md; ``test_contract.py`` runs the same calls against the real one), keeps plans
the way the daemon does (names, follow-ons, ids, states), and records every request.
"""

from __future__ import annotations

import json
import os
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List, Optional, Tuple

PLAN_FIELDS = {"epoch", "paths", "window", "windowBytes", "wholeFileBytes", "name", "next", "endWithClient"}


class Request:
    """One request as the fake saw it: method, path, query parameters and JSON body."""

    def __init__(self, method: str, path: str, query: Dict[str, str], body: Any) -> None:
        self.method, self.path, self.query, self.body = method, path, query, body

    def __repr__(self) -> str:
        body = self.body
        if isinstance(body, dict) and "paths" in body:
            body = {**body, "paths": f"<{len(body['paths'])} paths>"}
        return f"{self.method} {self.path} {self.query} {body}"


class Plan:
    def __init__(self, plan_id: str, name: str, mount: str, epoch: int, paths: List[str], pid: int) -> None:
        self.id, self.name, self.mount, self.epoch, self.paths = plan_id, name, mount, epoch, paths
        self.state = "active"
        self.client_pid = pid
        self.follow_on: Optional[Plan] = None

    def status(self) -> Dict[str, Any]:
        files = len(self.paths)
        return {"id": self.id, "name": self.name, "mountPoint": self.mount, "epoch": self.epoch,
                "files": files, "readerPosition": files if self.state == "finished" else 0,
                "issuedThrough": 0 if self.state == "queued" else min(files, 256), "inflightBlocks": 0,
                "prefetchedBlocks": 0, "prefetchedBytes": 0, "alreadyCachedBlocks": 0, "onDemandGets": 0,
                "active": self.state == "active", "state": self.state, "clientPid": self.client_pid}


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    fake: "FakeDaemon"


class FakeDaemon:
    """Serves on ``socket`` until :meth:`close`; ``mounts`` are the mount points it claims."""

    def __init__(self, socket: str, mounts: List[str], max_body: Optional[int] = None) -> None:
        self.socket = socket
        self.mount_points = [os.path.realpath(m) for m in mounts]
        self.max_body = max_body
        self.requests: List[Request] = []
        self.plans: Dict[str, Plan] = {}
        self.fail: Optional[Tuple[int, str]] = None
        self._ids = 0
        self._lock = threading.Lock()
        self._server = _Server(socket, _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    # --- what tests look at --------------------------------------------------------------------

    def posted_plans(self) -> List[Dict[str, Any]]:
        """The bodies of every POST /plan, in order."""
        return [r.body for r in self.requests if r.method == "POST" and r.path == "/plan"]

    def deletes(self) -> List[Dict[str, str]]:
        """The queries of every DELETE /plan, in order."""
        return [r.query for r in self.requests if r.method == "DELETE" and r.path == "/plan"]

    def finish(self, plan_id: str) -> None:
        """As if the reader had opened the plan's last file: it finishes, its follow-on takes over."""
        with self._lock:
            self._end(self.plans[plan_id], "finished")

    # --- the routes ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: Dict[str, str], body: Any, pid: int) -> Tuple[int, Any]:
        if self.fail is not None:
            return self.fail[0], {"error": self.fail[1]}
        with self._lock:
            route = {("GET", "/health"): self._health, ("GET", "/mounts"): self._mounts,
                     ("POST", "/plan"): self._post_plan, ("GET", "/plan"): self._get_plan,
                     ("DELETE", "/plan"): self._delete_plan, ("GET", "/stats"): self._stats,
                     ("POST", "/evict"): self._evict}.get((method, path))
            if route is None:
                return 404, {"error": f"no such endpoint: {path}"}
            return route(query, body, pid)

    def _health(self, query, body, pid):
        return 200, {"status": "ok", "pid": os.getpid(), "version": "dev", "mounts": len(self.mount_points),
                     "uptimeSeconds": 1}

    def _mounts(self, query, body, pid):
        return 200, [_mount_info(m) for m in self.mount_points]

    def _stats(self, query, body, pid):
        mount = query.get("mount")
        if mount is not None and mount not in self.mount_points:
            return 404, {"error": f"{mount} is not mounted by this s3cache daemon"}
        mounts = [m for m in self.mount_points if mount in (None, m)]
        return 200, {"ramHits": 0, "ramMisses": 0, "diskHits": 0, "diskMisses": 0, "diskErrors": 0,
                     "bytesFromS3": 0, "bytesServed": 0, "prefetchedBytes": 0, "prefetchUnusedBytes": 0,
                     "prefetchHitRatio": 0.0, "s3Gets": 0, "s3GetP50Millis": 0.0, "s3GetP99Millis": 0.0,
                     "ramBytes": 0, "ramCapBytes": 0, "diskBytes": 0, "diskCapBytes": 0,
                     "mounts": [_mount_info(m) for m in mounts], "blocksRead": 0, "blocksFetchedByReaders": 0,
                     "planPrefetchedBytes": 0, "planOnDemandGets": 0, "requests": _requests()}

    def _evict(self, query, body, pid):
        return 200, {"objects": len(body.get("paths", [])), "blocks": 0, "bytes": 0}

    def _post_plan(self, query, body, pid):
        unknown = set(body) - PLAN_FIELDS
        if unknown:
            return 400, {"error": f"unknown property \"{sorted(unknown)[0]}\" in PlanRequest"}
        paths = body.get("paths") or []
        if not paths:
            return 400, {"error": "a plan needs at least one path"}
        mounts = set()
        for p in paths:
            mount = self._mount_of(p)
            if mount is None:
                return 404, {"error": f"{p} is not under an s3cache mount of this daemon"}
            mounts.add(mount)
        if len(mounts) > 1:
            return 400, {"error": f"plan paths lie in {len(mounts)} mounts; one plan covers one mount"}
        mount, name = mounts.pop(), body.get("name") or "default"
        self._ids += 1
        plan = Plan(f"p{self._ids}", name, mount, body.get("epoch", 0), list(paths),
                    pid if body.get("endWithClient") else 0)
        active = self._active(mount, name)
        if body.get("next") and active is not None:
            if active.follow_on is not None:
                active.follow_on.state = "ended"
            plan.state, active.follow_on = "queued", plan
        else:
            for old in [p for p in self.plans.values() if (p.mount, p.name) == (mount, name)]:
                if old.state in ("active", "queued"):
                    old.state = "ended"
        self.plans[plan.id] = plan
        return 200, plan.status()

    def _get_plan(self, query, body, pid):
        if "id" in query:
            plan = self.plans.get(query["id"])
            return (200, plan.status()) if plan else (404, {"error": f"no epoch plan {query['id']} in this daemon"})
        mount = query.get("mount")
        if mount is not None and mount not in self.mount_points:
            return 404, {"error": f"{mount} is not mounted by this s3cache daemon"}
        # as the daemon lists them: active and queued plans first, then the ended ones, oldest first
        plans = sorted((p for p in self.plans.values() if mount in (None, p.mount)),
                       key=lambda p: p.state not in ("active", "queued"))
        return 200, {"plans": [p.status() for p in plans]}

    def _delete_plan(self, query, body, pid):
        if "id" in query:
            plan = self.plans.get(query["id"])
            if plan is None:
                return 404, {"error": f"no epoch plan {query['id']} in this daemon"}
            if plan.state in ("active", "queued"):
                self._end(plan, "ended")
            # a plan over already is answered as it is and stays listed, as the daemon does
            return 200, plan.status()
        mount = query.get("mount")
        if mount is None:
            return 400, {"error": "DELETE /plan needs ?id=PLAN or ?mount=/abs/path[&name=NAME]"}
        if mount not in self.mount_points:
            return 404, {"error": f"{mount} is not mounted by this s3cache daemon"}
        ended = [p for p in self.plans.values() if p.mount == mount and p.state in ("active", "queued")
                 and query.get("name") in (None, p.name)]
        for p in ended:
            p.state, p.follow_on = "ended", None
        return 200, {"plans": [p.status() for p in ended]}

    # --- plan bookkeeping ----------------------------------------------------------------------

    def _end(self, plan: Plan, state: str) -> None:
        plan.state = state
        if plan.follow_on is not None and plan.follow_on.state == "queued":
            plan.follow_on.state = "active"
        plan.follow_on = None

    def _active(self, mount: str, name: str) -> Optional[Plan]:
        for p in self.plans.values():
            if (p.mount, p.name, p.state) == (mount, name, "active"):
                return p
        return None

    def _mount_of(self, path: str) -> Optional[str]:
        for m in self.mount_points:
            if path.startswith(m + "/"):
                return m
        return None


def _requests() -> Dict[str, int]:
    return {"get": 0, "head": 0, "list": 0, "put": 0, "copy": 0, "delete": 0, "other": 0}


def _mount_info(mount: str) -> Dict[str, Any]:
    return {"mountPoint": mount, "source": "s3://fake/", "endpoint": "fake", "openFiles": 0,
            "requests": _requests()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet; client_address is '' on AF_UNIX
        pass

    def _serve(self) -> None:
        fake: FakeDaemon = self.server.fake
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        if fake.max_body is not None and length > fake.max_body:  # refused unread, as the daemon does
            fake.requests.append(Request(self.command, url.path, query, None))
            return self._reply(413, {"error": f"request body is larger than {fake.max_body} bytes"})
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        fake.requests.append(Request(self.command, url.path, query, body))
        if (self.command, url.path) == ("POST", "/preload"):
            return self._preload(body)
        status, answer = fake.handle(self.command, url.path, query, body or {}, _peer_pid(self.connection))
        self._reply(status, answer)

    do_GET = do_POST = do_DELETE = _serve

    def _reply(self, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _preload(self, body: Dict[str, Any]) -> None:
        files = len(body["paths"])
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for phase, done in (("listing", 0), ("fetching", files // 2), ("done", files)):
            line = json.dumps({"phase": phase, "files": files, "bytes": files * 10, "filesDone": done,
                               "bytesDone": done * 10, "bytesFetched": done * 10, "failed": [], "error": None,
                               "done": phase == "done"}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True


def _peer_pid(sock: Any) -> int:
    """The connecting process' pid (SO_PEERCRED), as the daemon reads it."""
    import socket
    import struct
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[0]
