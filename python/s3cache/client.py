"""A client of the s3cache daemon's control API (docs/CONTROL-API.md), standard library only.

The daemon speaks HTTP/1.1 with JSON bodies on a Unix socket and closes every connection after
one answer, so each call here opens its own connection: a :class:`Daemon` may be shared between
threads.

Errors:

- :class:`DaemonError`: the daemon answered ``{"error": ...}`` with a 4xx/5xx status;
  ``status`` is that status and ``message`` the daemon's line.
- :class:`DaemonUnavailable` (a subclass of :class:`DaemonError` whose ``status`` is ``None``):
  nothing answers on the socket (missing, refused, not permitted, no answer in time, connection
  cut). Catching :class:`DaemonError` covers both.
"""

from __future__ import annotations

import http.client
import json
import os
import socket as _socket
import urllib.parse
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

__all__ = ["DEFAULT_SOCKET", "Daemon", "DaemonError", "DaemonUnavailable", "socket_path"]

#: Where the daemon listens unless told otherwise (the CLI's default too).
DEFAULT_SOCKET = "/run/s3cache/s3cache.sock"

#: Seconds a call waits for the daemon to connect and answer (not for a preload stream's end).
DEFAULT_TIMEOUT = 120.0

Json = Dict[str, Any]


class DaemonError(Exception):
    """The daemon refused a request: ``status`` is the HTTP status, ``message`` its error line."""

    def __init__(self, status: Optional[int], message: str) -> None:
        super().__init__(message if status is None else f"{message} (HTTP {status})")
        self.status = status
        self.message = message


class DaemonUnavailable(DaemonError):
    """No s3cache daemon answers on the socket; ``socket`` names it. ``status`` is ``None``."""

    def __init__(self, socket: str, reason: str) -> None:
        super().__init__(None, f"no s3cache daemon answers on {socket} ({reason})")
        self.socket = socket


def socket_path(socket: Optional[str] = None) -> str:
    """The control socket the CLI would use: ``socket``, else ``$S3CACHE_SOCKET``, else the default."""
    if socket:
        return os.fspath(socket)
    return os.environ.get("S3CACHE_SOCKET") or DEFAULT_SOCKET


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a Unix domain socket."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Daemon:
    """The s3cache daemon on this host, reached over its control socket.

    ``socket``: the socket path (else ``$S3CACHE_SOCKET``, else ``/run/s3cache/s3cache.sock``);
    ``timeout``: seconds to wait for a connection and an answer.
    """

    def __init__(self, socket: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.socket = socket_path(socket)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Daemon(socket={self.socket!r})"

    # --- the daemon and its mounts -------------------------------------------------------------

    def health(self) -> Json:
        """``GET /health``: status, pid, version, mounts, uptimeSeconds."""
        return self._call("GET", "/health")

    def mounts(self) -> List[Json]:
        """``GET /mounts``: one MountInfo per mount."""
        return self._call("GET", "/mounts")

    def mount(self, source: str, mount_point: str, settings: Optional[Dict[str, str]] = None,
              options: Optional[Sequence[str]] = None) -> Json:
        """``POST /mounts``: mounts ``source`` (``s3://BUCKET[/PREFIX]``) at ``mount_point``."""
        body = {"source": source, "mountPoint": os.path.abspath(mount_point),
                "settings": dict(settings or {}), "options": list(options or [])}
        return self._call("POST", "/mounts", body=body)

    def unmount(self, mount_point: str) -> Json:
        """``DELETE /mounts?path=``: unmounts one of the daemon's mounts."""
        return self._call("DELETE", "/mounts", {"path": os.path.abspath(mount_point)})

    def stats(self, mount: Optional[str] = None) -> Json:
        """``GET /stats``: the daemon's cache and S3 figures (``mount`` restricts ``mounts``)."""
        return self._call("GET", "/stats", {"mount": mount})

    def shutdown(self) -> Json:
        """``POST /shutdown``: unmounts everything and stops the daemon."""
        return self._call("POST", "/shutdown")

    # --- epoch plans ---------------------------------------------------------------------------

    def plan(self, paths: Iterable[str], *, epoch: int = 0, name: Optional[str] = None,
             next: bool = False, end_with_client: bool = True, window: Optional[int] = None,
             window_bytes: Optional[int] = None, whole_file_bytes: Optional[int] = None) -> Json:
        """``POST /plan``: the files this process will open next, in order; answers its PlanStatus.

        ``name``: plans of one name on one mount replace each other (daemon default
        ``"default"``). ``next``: queue it behind the active plan of that name (it starts
        prefetching once that plan has issued all its files, and takes over when it ends).
        ``end_with_client``: the plan (and its follow-on) ends when this process exits.
        """
        body: Json = {"epoch": int(epoch), "paths": paths if isinstance(paths, list) else list(paths),
                      "next": bool(next), "endWithClient": bool(end_with_client)}
        optional = {"name": name, "window": window, "windowBytes": window_bytes,
                    "wholeFileBytes": whole_file_bytes}
        body.update((k, v) for k, v in optional.items() if v is not None)
        return self._call("POST", "/plan", body=body)

    def plans(self, mount: Optional[str] = None) -> List[Json]:
        """``GET /plan[?mount=]``: the PlanStatus of every plan (of one mount)."""
        return self._call("GET", "/plan", {"mount": mount})["plans"]

    def plan_status(self, plan_id: str) -> Json:
        """``GET /plan?id=``: one plan's PlanStatus (404 for an id it does not know: it keeps the last 32 ended plans per mount)."""
        return self._call("GET", "/plan", {"id": plan_id})

    def end_plan(self, plan_id: str) -> Json:
        """``DELETE /plan?id=``: ends one plan (its follow-on takes over); its final PlanStatus."""
        return self._call("DELETE", "/plan", {"id": plan_id})

    def end_plans(self, mount: str, name: Optional[str] = None) -> List[Json]:
        """``DELETE /plan?mount=[&name=]``: ends a mount's plans (of one name); those it ended."""
        return self._call("DELETE", "/plan", {"mount": mount, "name": name})["plans"]

    # --- cache contents ------------------------------------------------------------------------

    def preload(self, paths: Sequence[str], parallel: int = 32, dry_run: bool = False, *,
                shard_index: Optional[int] = None, shard_count: Optional[int] = None,
                progress: Optional[Callable[[Json], None]] = None) -> Json:
        """``POST /preload``: loads ``paths`` into the disk tier; answers the last progress report.

        ``progress`` is called with every report as it arrives (about every 0.5 s); an
        exception from it closes the stream, which cancels the preload.
        """
        body = {"paths": list(paths), "parallel": int(parallel), "shardIndex": shard_index,
                "shardCount": shard_count, "dryRun": bool(dry_run)}
        return self._request("POST", "/preload", None, body, lambda r: _last_line(r, progress), None)

    def evict(self, paths: Sequence[str]) -> Json:
        """``POST /evict``: drops the cached blocks of the objects under ``paths``."""
        return self._call("POST", "/evict", body={"paths": list(paths)})

    # --- transport -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, query: Optional[Dict[str, Optional[str]]] = None,
              body: Optional[Json] = None) -> Any:
        return self._request(method, path, query, body, _json_body, self.timeout)

    def _request(self, method: str, path: str, query: Optional[Dict[str, Optional[str]]],
                 body: Optional[Json], read: Callable[[http.client.HTTPResponse], Any],
                 read_timeout: Optional[float]) -> Any:
        """Sends one request on a fresh connection and hands a 2xx answer to ``read``."""
        params = {k: v for k, v in (query or {}).items() if v is not None}
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        payload = None if body is None else _encode(body)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        conn = _UnixConnection(self.socket, self.timeout)
        try:
            try:
                conn.request(method, target, body=payload, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused mid-body (e.g. 413 for a body over the daemon's limit): read why below
            response = conn.getresponse()
            if response.status >= 400:
                raise DaemonError(response.status, _error_message(response))
            if conn.sock is not None:
                conn.sock.settimeout(read_timeout)
            return read(response)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise DaemonUnavailable(self.socket, e.strerror or type(e).__name__) from None
        except PermissionError as e:
            raise DaemonUnavailable(self.socket, f"{e.strerror}: not the daemon's user?") from None
        except _socket.timeout:
            raise DaemonUnavailable(self.socket, f"no answer within {self.timeout:g} s") from None
        except (ConnectionError, http.client.HTTPException) as e:
            raise DaemonUnavailable(self.socket, f"connection lost: {e or type(e).__name__}") from None
        finally:
            conn.close()


def _encode(body: Json) -> bytes:
    """Compact UTF-8 JSON (a plan of 100,000 paths encodes in tens of milliseconds)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _json_body(response: http.client.HTTPResponse) -> Any:
    data = response.read()
    return json.loads(data) if data else {}


def _error_message(response: http.client.HTTPResponse) -> str:
    """The daemon's ``error`` line, else the body's text, else the status' reason."""
    data = response.read()
    try:
        message = json.loads(data).get("error")
    except (ValueError, AttributeError):
        message = None
    if message:
        return str(message)
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else (response.reason or "error")


def _last_line(response: http.client.HTTPResponse, progress: Optional[Callable[[Json], None]]) -> Json:
    """Reads an NDJSON stream to its end, passing each object to ``progress``; the last one."""
    last: Json = {}
    for line in iter(response.readline, b""):
        if not line.strip():
            continue
        last = json.loads(line)
        if progress is not None:
            progress(last)
    return last
