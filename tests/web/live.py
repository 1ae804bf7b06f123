"""A real ``vidrestore serve`` process for the browser and kill -9 tests, and the system Chromium."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_data
from tests.web.conftest import ROOT

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")


def chromium_path() -> str:
    """The system Chromium (Debian's ``chromium``), or skip (a failure under VIDRESTORE_REQUIRE_DATA=1,
    since tools/install.sh installs it)."""
    pytest.importorskip("playwright", reason="playwright is not installed: pip install 'vidrestore[web]'")
    env = os.environ.get("VIDRESTORE_CHROMIUM")
    for c in ([env] if env else []) + list(CHROMIUM_CANDIDATES) + [shutil.which("chromium") or ""]:
        if c and os.access(c, os.X_OK):
            return c
    reason = "no chromium binary found (apt-get install chromium, or set VIDRESTORE_CHROMIUM)"
    if require_data():
        pytest.fail(f"VIDRESTORE_REQUIRE_DATA=1: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m vidrestore serve`` on a free port; ``kill9()`` ends it the hard way."""

    def __init__(self, roots: list[Path], state: Path, *, port: int | None = None) -> None:
        self.roots, self.state = roots, state
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        args = [sys.executable, "-m", "vidrestore", "serve", "--port", str(self.port), "--state-dir", str(self.state)]
        for r in self.roots:
            args += ["--root", str(r)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log = open(self.state.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                self.get("/api/info")
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}") from None
                time.sleep(0.3)
        raise RuntimeError("server did not start in 60 s")

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 600) -> tuple[int, dict]:
        """One request to this loopback server (http.client: the suite's network guard covers urlopen)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"{}")
        finally:
            conn.close()

    def get(self, path: str) -> dict:
        status, data = self.request("GET", path, timeout=30)
        assert status == 200, (path, status, data)
        return data

    def post(self, path: str, body: dict) -> dict:
        status, data = self.request("POST", path, body)
        assert status == 200, (path, status, data)
        return data

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def wait_job(self, job_id: str, states: tuple[str, ...], timeout: float = 900) -> dict:
        end = time.monotonic() + timeout
        job: dict = {}
        while time.monotonic() < end:
            job = self.get(f"/api/jobs/{job_id}")
            if job["state"] in states:
                return job
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} not {states} after {timeout} s: {job}")


def media_digest(path: Path) -> dict:
    """Frame count, a hash of the decoded frames and of the audio packets (bytes and timestamps)."""
    import av

    frames, video, audio = 0, hashlib.sha256(), hashlib.sha256()
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            video.update(f.to_ndarray(format="rgb24").tobytes())
            frames += 1
    with av.open(str(path)) as c:
        packets = 0
        for p in c.demux(audio=0):
            if p.size:
                audio.update(bytes(p))
                audio.update(str((p.pts, p.duration)).encode())
                packets += 1
    return {"frames": frames, "video_sha256": video.hexdigest(), "audio_packets": packets,
            "audio_sha256": audio.hexdigest()}


def cli(*args: str, timeout: float = 900) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "vidrestore", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
