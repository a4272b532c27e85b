"""The real thing for integration tests: the benchmark's S3 server in its own JVM, a bucket filled
over HTTP, the daemon started as a user starts it (``bin/s3cache daemon``), and a FUSE mount.

Everything started here is stopped by :meth:`Stack.close`, also after a failure: the daemon is
asked to shut down (then killed), its mount lazily unmounted, the S3 server's stdin closed (then
killed).
"""

from __future__ import annotations

import base64
import email.utils
import glob
import hashlib
import hmac
import http.client
import os
import shutil
import subprocess
import time
import urllib.parse
from typing import Dict, List, Optional

from s3cache.client import Daemon, DaemonError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCESS_KEY, SECRET_KEY = "s3cache", "s3cache-secret"  # EmbeddedS3Server's identity


def missing() -> Optional[str]:
    """Why the integration tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (FUSE mounts by the daemon)"
    if not os.path.exists("/dev/fuse"):
        return "needs /dev/fuse"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "needs Java 17"
    if not _bench_classpath() or not glob.glob(f"{ROOT}/daemon/target/s3cache-daemon-*.jar"):
        return "jars not built: run mvn -B -DskipTests package first"
    return None


def _bench_classpath() -> Optional[str]:
    jars = [j for j in glob.glob(f"{ROOT}/bench/target/s3cache-bench-*.jar") if "sources" not in j and "tests" not in j]
    if not jars or not os.path.isdir(f"{ROOT}/bench/target/lib"):
        return None
    return f"{jars[0]}:{ROOT}/bench/target/lib/*"


class S3Server:
    """``io.s3cache.bench.S3ServerMain`` in a JVM of its own: S3Proxy behind a latency proxy."""

    def __init__(self, data_dir: str, latency_ms: int, log: str) -> None:
        java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
        with open(log, "wb") as err:
            self.process = subprocess.Popen(
                [java, "-Xmx512m", "-cp", _bench_classpath(), "io.s3cache.bench.S3ServerMain", data_dir,
                 str(latency_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        try:
            self.endpoint = self._value("endpoint=", log)
            self.proxy = self._value("proxy=", log)
        except BaseException:
            self.close()
            raise

    def _value(self, prefix: str, log: str) -> str:
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith(prefix):
            raise RuntimeError(f"the S3 server did not start (said {line!r}); see {log}")
        return line[len(prefix):]

    def put(self, bucket: str, key: str = "", body: bytes = b"") -> None:
        """A PUT of a bucket (no key) or an object, signed with AWS signature version 2."""
        url = urllib.parse.urlsplit(self.endpoint)
        resource = "/" + bucket + ("/" + urllib.parse.quote(key) if key else "")
        date = email.utils.formatdate(usegmt=True)
        string_to_sign = f"PUT\n\napplication/octet-stream\n{date}\n{resource}"
        signature = base64.b64encode(hmac.new(SECRET_KEY.encode(), string_to_sign.encode(), hashlib.sha1).digest())
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request("PUT", resource, body=body, headers={
                "Date": date, "Content-Type": "application/octet-stream",
                "Authorization": f"AWS {ACCESS_KEY}:{signature.decode()}"})
            answer = conn.getresponse()
            text = answer.read()
            if answer.status != 200:
                raise RuntimeError(f"PUT {resource}: {answer.status} {text[:300]!r}")
        finally:
            conn.close()

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # S3ServerMain serves until its stdin closes
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(20)
        self.process.stdout.close()


class DaemonProcess:
    """``bin/s3cache daemon`` on its own socket and cache dir, with the S3 server's keys."""

    def __init__(self, work: str, settings: Dict[str, str]) -> None:
        self.socket = os.path.join(work, "d.sock")
        self.log = os.path.join(work, "daemon.log")
        config = os.path.join(work, "empty.conf")  # not the host's /etc/s3cache/s3cache.conf
        open(config, "w").close()
        command = [f"{ROOT}/bin/s3cache", "daemon", "--socket", self.socket, "--config", config]
        for key, value in settings.items():
            command += ["-o", f"{key}={value}"]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                   AWS_EC2_METADATA_DISABLED="true")
        env.pop("S3CACHE_SOCKET", None)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            env=env)
        self.client = Daemon(self.socket, timeout=60)
        self.mount_points: List[str] = []
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.close()
            raise

    def _wait_until_it_answers(self) -> None:
        # The JVM starts in a few seconds; this waits for a process, not for a result.
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.health()
                return
            except DaemonError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    with open(self.log, errors="replace") as f:
                        raise RuntimeError(f"the daemon did not start: {f.read()[-3000:]}")
                time.sleep(0.2)

    def mount(self, source: str, mount_point: str, settings: Dict[str, str]) -> str:
        os.makedirs(mount_point, exist_ok=True)
        self.mount_points.append(mount_point)
        self.client.mount(source, mount_point, settings)
        return mount_point

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                try:
                    Daemon(self.socket, timeout=10).shutdown()
                except DaemonError:
                    pass
                try:
                    self.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
        finally:
            for mp in self.mount_points:
                if _is_mounted(mp):
                    subprocess.run(["fusermount", "-uz", mp], check=False)


def _is_mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class Stack:
    """An S3 server with bucket ``data``, a daemon, and the bucket mounted at ``mnt``."""

    def __init__(self, work: str, latency_ms: int = 2) -> None:
        self.work = work
        self.s3: Optional[S3Server] = None
        self.daemon_process: Optional[DaemonProcess] = None
        try:
            self.s3 = S3Server(os.path.join(work, "s3"), latency_ms, os.path.join(work, "s3.log"))
            self.s3.put("data")
            self.daemon_process = DaemonProcess(work, {"cache_dir": os.path.join(work, "cache"),
                                                       "ram_cache": "256M", "disk_cache": "1G"})
            self.mnt = self.daemon_process.mount("s3://data", os.path.join(work, "mnt"), {
                "endpoint": self.s3.proxy, "path_style": "true", "metadata_ttl": "indefinite"})
        except BaseException:
            self.close()
            raise
        self.daemon = self.daemon_process.client
        self.socket = self.daemon_process.socket

    def close(self) -> None:
        try:
            if self.daemon_process is not None:
                self.daemon_process.close()
        finally:
            if self.s3 is not None:
                self.s3.close()
