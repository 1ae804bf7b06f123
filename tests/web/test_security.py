"""The web app reads and writes only under its roots, and answers only whom it should.

Traversal in every spelling (``..``, absolute paths, symbolic links out of a root, percent-encoded
and double-encoded variants) is refused with 403 on every route that takes a path; a bind beyond
loopback without a token is refused at start (one line, exit code 2, as every CLI error); with a
token, every request without it (page, API, static file, event stream) gets 401.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.conftest import ROOT, make_client

TRAVERSALS = [
    "../etc/passwd", "/etc/passwd", "media/../../etc/passwd", "media/..", "media/./moving.mp4",
    "media/%2e%2e/%2e%2e/etc/passwd", "media/%252e%252e/etc", "media%2f..%2f..%2fetc", "media\\..\\x",
    "%2e%2e/etc/passwd", "media/sub/../../x", "C:/Windows", "media/\x00x", "unknownroot/x",
]


@pytest.mark.parametrize("ref", TRAVERSALS)
def test_traversal_refused_on_every_path_route(client, ref: str) -> None:
    for route in ("/api/browse", "/api/probe", "/api/file"):
        r = client.get(route, params={"path": ref})
        assert r.status_code == 403, (route, ref, r.status_code, r.text)
        assert "error" in r.json()
    # the same, written into the URL by hand (the client does not re-encode it)
    raw = ref.replace("\x00", "%00")
    r = client.get("/api/browse?path=" + raw)
    assert r.status_code == 403, (raw, r.status_code)


def test_traversal_refused_in_job_and_preview_settings(client, web_root: Path) -> None:
    for field, value in (("input", "../moving.mp4"), ("input", "/etc/passwd"), ("output", "media/../out.mp4"),
                         ("output", "/tmp/out.mp4"), ("config", "media/%2e%2e/x.yaml")):
        body = {"command": "restore", "input": "media/moving.mp4", "output": "media/out.mp4", field: value}
        for route in ("/api/jobs", "/api/check", "/api/preview"):
            if route == "/api/preview" and field == "output":
                continue  # a preview writes into the server's cache, never to the output
            r = client.post(route, json=body)
            assert r.status_code == 403, (route, field, value, r.status_code, r.text)
    assert sorted(p.name for p in web_root.iterdir()) == ["moving.mp4"]


def test_symlinks_out_of_a_root_refused(client, web_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (web_root / "link-dir").symlink_to(outside, target_is_directory=True)
    (web_root / "link.png").symlink_to(outside / "secret.png")
    (web_root / "dangling.mp4").symlink_to(outside / "new.mp4")
    listing = client.get("/api/browse", params={"path": "media"}).json()["entries"]
    assert {e["name"] for e in listing} == {"moving.mp4"}  # links leading out are not even listed
    for ref in ("media/link-dir", "media/link-dir/secret.png", "media/link.png"):
        assert client.get("/api/file", params={"path": ref}).status_code == 403, ref
        assert client.get("/api/browse", params={"path": ref}).status_code == 403, ref
    body = {"command": "restore", "input": "media/moving.mp4", "output": "media/dangling.mp4"}
    assert client.post("/api/jobs", json=body).status_code == 403
    body["output"] = "media/link-dir/out.mp4"
    assert client.post("/api/jobs", json=body).status_code == 403
    assert not (outside / "new.mp4").exists() and not (outside / "out.mp4").exists()


def test_a_link_inside_the_root_is_followed(client, web_root: Path) -> None:
    (web_root / "sub").mkdir()
    (web_root / "sub" / "clip.mp4").symlink_to(web_root / "moving.mp4")
    r = client.get("/api/probe", params={"path": "media/sub/clip.mp4"})
    assert r.status_code == 200 and r.json()["video"]["frames"] == 75


def test_config_keys_cannot_reach_outside_the_roots(client, tmp_path: Path) -> None:
    base = {"command": "restore", "input": "media/moving.mp4", "output": "media/out.mp4", "preset": "film"}
    for key, value in (("film.save_masks", str(tmp_path / "elsewhere")), ("restorer.weights", "/etc/passwd"),
                       ("film.save_masks", "relative/masks")):
        r = client.post("/api/check", json={**base, "changes": {key: value}})
        assert r.status_code == 403, (key, value, r.text)
        assert key in r.json()["error"]
    r = client.post("/api/check", json={**base, "changes": {"jobs.workdir": str(tmp_path)}})
    assert r.status_code == 400 and r.json()["error"].startswith("jobs.workdir: set by the server")
    r = client.post("/api/check", json={**base, "changes": {"film.save_masks": "media/masks"}})
    assert r.status_code == 200 and r.json()["ok"], r.text  # a ROOT/rel path is fine


def test_file_route_serves_only_images(client, web_root: Path) -> None:
    (web_root / "notes.txt").write_text("x")
    assert client.get("/api/file", params={"path": "media/notes.txt"}).status_code == 403
    assert client.get("/api/file", params={"path": "media/moving.mp4"}).status_code == 403


def test_foreign_host_and_cross_origin_refused(client) -> None:
    assert client.get("/api/info", headers={"host": "attacker.example"}).status_code == 403  # DNS rebinding
    assert client.get("/api/info", headers={"host": "localhost:8765"}).status_code == 200
    body = {"command": "restore", "input": "media/moving.mp4", "output": "media/out.mp4"}
    r = client.post("/api/check", json=body, headers={"origin": "http://attacker.example"})
    assert r.status_code == 403
    assert client.post("/api/check", json=body, headers={"origin": "http://127.0.0.1:8765"}).status_code == 200


def test_token_checked_on_every_request(web_root: Path, state_dir: Path) -> None:
    token = "s3cret-token-42"
    with make_client([web_root], state_dir, token=token, host="0.0.0.0") as c:
        for path in ("/", "/static/app.js", "/api/info", "/api/jobs", "/api/browse?path=media",
                     "/api/jobs/x/events"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"authorization": "Bearer wrong-token-00"}).status_code == 401, path
        assert c.post("/api/jobs", json={}).status_code == 401
        assert c.get("/api/info", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert c.get("/api/info", headers={"host": "192.0.2.7:8765", "authorization": f"Bearer {token}"}).status_code == 200
        r = c.get("/", params={"token": token})  # the browser's first visit sets the cookie ...
        assert r.status_code == 200 and "vidrestore_token" in r.headers.get("set-cookie", "")
        assert c.get("/api/jobs").status_code == 200  # ... which every later request (and EventSource) sends
        c.cookies.clear()
        assert c.get("/api/jobs").status_code == 401


def _serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIDRESTORE_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "vidrestore", "serve", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_non_local_bind_without_token_refused_at_start(host: str, tmp_path: Path) -> None:
    done = _serve("--root", str(tmp_path), "--host", host, "--state-dir", str(tmp_path / "s"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs --token" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "s").exists()  # refused before anything was created


def test_bad_root_is_one_line(tmp_path: Path) -> None:
    done = _serve("--root", str(tmp_path / "missing"), "--state-dir", str(tmp_path / "s"))
    assert done.returncode == 2 and done.stderr.strip() == f"vidrestore: error: --root {tmp_path / 'missing'}: not a folder"
