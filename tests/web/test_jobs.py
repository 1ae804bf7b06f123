"""Jobs through the app: run in a child process, progress as server-sent events, one job per output,
the list rebuilt from the state folder, results (compare sheet, eval plot), previews cached."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.web.conftest import make_client


def wait_state(client, job_id: str, states: tuple[str, ...], timeout: float = 300) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s: {job}")


def frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_job_runs_streams_progress_and_shows_results(client, web_root: Path, state_dir: Path) -> None:
    body = {"command": "restore", "input": "media/moving.mp4", "output": "media/copy.mp4", "preset": "passthrough"}
    job_id = client.post("/api/jobs", json=body).json()["id"]
    second = client.post("/api/jobs", json=body)  # the same output again, while the first is queued or running
    assert second.status_code == 409 and "one job per output" in second.json()["error"]
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["state"] == "done", events[-1]
    assert events[-1]["result"]["frames_out"] == 75
    last = events[-1]["progress"]  # the API's Progress: frames, fps, ETA, phase
    assert (last["done"], last["total"]) == (75, 75) and last["fps"] > 0 and set(last) >= {"eta_s", "phase", "elapsed_s"}
    job = wait_state(client, job_id, ("done",))
    assert job["spec"]["input"] == "media/moving.mp4" and job["spec"]["output"] == "media/copy.mp4"  # never absolute
    assert "vidrestore restore" in job["command_line"] and "--workdir" not in job["command_line"]
    assert frame_count(web_root / "copy.mp4") == 75
    names = {u.rsplit("/", 1)[-1] for u in job["extras"]}
    assert {"compare.png", "eval.png"} <= names, job
    for url in job["extras"]:
        r = client.get(url)
        assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (state_dir / "jobs" / job_id / "work").exists()  # the finished job's segments are gone
    # the same output again now that it exists: the API's one-line refusal, shown in the page
    r = client.post("/api/jobs", json=body)
    job2 = wait_state(client, r.json()["id"], ("failed",))
    assert "exists" in job2["message"] and "--overwrite" in job2["message"], job2["message"]
    # a new server on the same state folder lists the same jobs
    with make_client([web_root], state_dir) as again:
        ids = [j["id"] for j in again.get("/api/jobs").json()["jobs"]]
        assert job_id in ids and r.json()["id"] in ids


def test_bad_input_shows_the_clis_line(client, web_root: Path) -> None:
    (web_root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    r = client.get("/api/probe", params={"path": "media/broken.mp4"})
    assert r.status_code == 400
    line = r.json()["error"]
    assert "broken.mp4" in line and "\n" not in line and "Traceback" not in line
    body = {"command": "restore", "input": "media/broken.mp4", "output": "media/x.mp4"}
    job = wait_state(client, client.post("/api/jobs", json=body).json()["id"], ("failed",))
    assert "broken.mp4" in job["message"] and "\n" not in job["message"]
    assert not (web_root / "x.mp4").exists()


def test_interrupted_job_is_listed_resumable_after_restart(web_root: Path, state_dir: Path) -> None:
    """A job recorded as running whose worker is gone (the server was killed) comes back interrupted."""
    from vidrestore.web.worker import JOB, STATUS, write_json

    with make_client([web_root], state_dir):
        pass
    folder = state_dir / "jobs" / "20250101-000000-abcd"
    (folder / "work").mkdir(parents=True)
    (folder / "work" / "manifest.json").write_text("{}")
    spec = {"command": "restore", "input": str(web_root / "moving.mp4"), "output": str(web_root / "o.mp4")}
    write_json(folder / JOB, {"id": folder.name, "kind": "job", "label": "x", "spec": spec})
    write_json(folder / STATUS, {"state": "running", "pid": 999999999})
    with make_client([web_root], state_dir) as c:
        job = c.get(f"/api/jobs/{folder.name}").json()
        assert job["state"] == "interrupted" and job["resumable"]
        r = c.post("/api/jobs", json={"command": "restore", "input": "media/moving.mp4", "output": "media/o.mp4"})
        assert r.status_code == 409 and "resume it" in r.json()["error"]


def test_unknown_job_is_404(client) -> None:
    for path in ("/api/jobs/nope", "/api/jobs/nope/events", "/api/jobs/..%2f..%2fetc/log", "/api/jobs/../log",
                 "/api/jobs/nope/files/x.png"):
        assert client.get(path).status_code in (403, 404), path
    for path in ("/api/preview/../jobs/x.png", "/api/preview/..%2f/x.png", "/api/preview/abc/x.png",
                 "/api/preview/%2e%2e/x.png"):
        assert client.get(path).status_code in (403, 404), path


def test_preview_key_depends_on_pixels_not_on_paths() -> None:
    from vidrestore.web.jobs import preview_key

    spec = {"command": "restore", "input": "/a", "output": "/cache/x/after", "frames": [10, 15], "options": {}}
    key = preview_key(input_identity={"size": 1}, config={"film": {"radius": 2}}, spec=spec)
    assert key == preview_key(input_identity={"size": 1}, config={"film": {"radius": 2}},
                              spec={**spec, "output": "/elsewhere"})
    assert key != preview_key(input_identity={"size": 1}, config={"film": {"radius": 3}}, spec=spec)
    assert key != preview_key(input_identity={"size": 2}, config={"film": {"radius": 2}}, spec=spec)
    assert key != preview_key(input_identity={"size": 1}, config={"film": {"radius": 2}},
                              spec={**spec, "frames": [11, 16]})


@pytest.mark.slow
def test_preview_gives_the_frames_of_the_full_run_and_is_cached(client, web_root: Path, state_dir: Path,
                                                                 tmp_path: Path) -> None:
    import numpy as np

    from vidrestore.io.images import read_image
    from vidrestore.web.backend import JobSpec, run

    body = {"command": "restore", "input": "media/moving.mp4", "preset": "film", "time_s": 1.0, "count": 3,
            "options": {"save_masks": True}, "changes": {"film.radius": "1"}}
    t0 = time.monotonic()
    r = client.post("/api/preview", json=body)
    first = time.monotonic() - t0
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["frames"] == [24, 27] and len(p["before"]) == 3 and len(p["after"]) == 3
    assert set(p["masks"]) == {"dust", "scratch"} and len(p["masks"]["dust"]) == 3
    t0 = time.monotonic()
    assert client.post("/api/preview", json=body).json() == p  # cached: same key, no recomputation
    assert time.monotonic() - t0 < min(first / 3, 5)
    full, full_masks = tmp_path / "full", tmp_path / "full_masks"
    run(JobSpec(command="restore", input=str(web_root / "moving.mp4"), output=str(full), preset="film",
                overrides=("film.radius=1",), options={"save_masks": str(full_masks)}))
    for i, url in enumerate(p["after"]):
        got = client.get(url)
        assert got.status_code == 200
        (tmp_path / "p.png").write_bytes(got.content)
        want = read_image(sorted(full.glob("*.png"))[24 + i])
        assert np.array_equal(read_image(tmp_path / "p.png"), want), f"preview frame {24 + i} differs from the full run"
    # the masks too: the preview's film stage wrote those of its three frames only (not of its warm-up), and
    # they are the full run's
    written = sorted(p.name for p in state_dir.rglob("masks/dust/*.png"))
    assert written == ["000024.png", "000025.png", "000026.png"], written
    for kind in ("dust", "scratch"):
        for url in p["masks"][kind]:
            name = url.rsplit("/", 1)[1]
            assert client.get(url).content == (full_masks / kind / name).read_bytes(), f"{kind} mask {name} differs"


@pytest.mark.slow
def test_cancel_is_clean_and_the_job_resumes(client, web_root: Path, state_dir: Path) -> None:
    body = {"command": "restore", "input": "media/moving.mp4", "output": "media/film.mp4", "preset": "film",
            "changes": {"film.radius": "1", "jobs.segment_frames": "20"}}
    job_id = client.post("/api/jobs", json=body).json()["id"]
    end = time.monotonic() + 600
    while (client.get(f"/api/jobs/{job_id}").json()["progress"] or {}).get("done", 0) < 25:
        assert time.monotonic() < end, "no progress in 600 s"
        time.sleep(0.2)
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    job = wait_state(client, job_id, ("cancelled", "done", "failed"))
    assert job["state"] == "cancelled" and job["resumable"], job
    assert not (web_root / "film.mp4").exists()  # nothing partial at the output
    assert sorted(p.name for p in web_root.iterdir()) == ["moving.mp4"]
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
    job = wait_state(client, job_id, ("done", "failed"), timeout=900)
    assert job["state"] == "done" and job["result"]["reused"], job
    assert frame_count(web_root / "film.mp4") == 75
