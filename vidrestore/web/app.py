"""The web app: FastAPI routes over the Python API, the job store and the roots.

FastAPI (on Starlette, served by uvicorn) and not Gradio: the page needs its own layout (a file
browser, a form generated from the config dataclasses, a wipe viewer with zoom and masks, a job list
fed by server-sent events) and a security layer of its own (roots, token, host checks on every
request); Gradio's components would have to be bent to each of these, its front end is a large
JavaScript bundle, and it fetches assets and telemetry from the network by default. Here the
page is three static files shipped in the package, no build step.

Every route that takes a path resolves it through :class:`~vidrestore.web.security.Roots` (403
outside them). Errors the CLI would print as one line (a bad key, an unreadable file) come back as
``{"error": "<that line>", "key": ...}`` with status 400, and the page shows them as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from vidrestore import __version__
from vidrestore.errors import VidrestoreError
from vidrestore.web import browse, form
from vidrestore.web.jobs import JobConflict, JobStore, preview_key
from vidrestore.web.security import Forbidden, Roots, host_is_local, token_ok
from vidrestore.web.settings import OPTIONS, build_spec, check_config_paths, input_identity
from vidrestore.web.worker import FINAL_STATES, PROGRESS, RESULTS, STATUS, one_line, read_json

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "vidrestore_token"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@dataclass
class ServerConfig:
    roots: Roots
    state_dir: Path
    token: str | None = None
    max_running: int = 1
    preview_frames: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


def create_app(config: ServerConfig) -> FastAPI:
    store = JobStore(config.state_dir, max_running=config.max_running)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 - running jobs stop as *interrupted* (resumable)
        yield
        store.shutdown()

    app = FastAPI(title="vidrestore", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.config = config
    app.state.store = store
    _guard(app, config)
    _errors(app)
    _pick_routes(app, config)
    _set_routes(app, config)
    _preview_routes(app, config, store)
    _job_routes(app, config, store)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


# --------------------------------------------------------------------------- guard


def _guard(app: FastAPI, config: ServerConfig) -> None:
    """Token (when set) on every request, static files and event streams included; without a token,
    only loopback ``Host`` names; state-changing requests only from this page's origin."""

    @app.middleware("http")
    async def guard(request: Request, call_next):  # noqa: ANN001, ANN202
        if config.token is None:
            if not host_is_local(request.headers.get("host", "")):
                return PlainTextResponse("vidrestore serve: unknown host\n", status_code=403)
        else:
            given = _token_of(request)
            if not token_ok(given, config.token):
                return PlainTextResponse("vidrestore serve: token required\n", status_code=401)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
                return PlainTextResponse("vidrestore serve: cross-origin request refused\n", status_code=403)
        response = await call_next(request)
        if config.token is not None and request.query_params.get("token"):
            response.set_cookie(COOKIE, config.token, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-vidrestore-token") or request.cookies.get(COOKIE) or request.query_params.get("token")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, err: Forbidden) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=403)

    @app.exception_handler(JobConflict)
    async def conflict(request: Request, err: JobConflict) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=409)

    @app.exception_handler(VidrestoreError)
    async def bad_input(request: Request, err: VidrestoreError) -> JSONResponse:
        text = one_line(str(err))
        return JSONResponse({"error": text, "key": form.key_of_message(text)}, status_code=400)

    @app.exception_handler(FileNotFoundError)
    async def missing(request: Request, err: FileNotFoundError) -> JSONResponse:
        return JSONResponse({"error": f"{err.args[0] if err.args else 'file'}: not found"}, status_code=404)

    @app.exception_handler(KeyError)
    async def unknown(request: Request, err: KeyError) -> JSONResponse:
        return JSONResponse({"error": f"{err.args[0] if err.args else ''}: no such job"}, status_code=404)


# --------------------------------------------------------------------------- pick


def _pick_routes(app: FastAPI, config: ServerConfig) -> None:
    roots = config.roots

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        from vidrestore.config import list_presets

        presets = [{"name": n, "description": d} for n, (_p, d) in list_presets().items()]
        return {"version": __version__, "roots": browse.list_roots(roots), "presets": presets, "options": OPTIONS,
                "preview_frames": config.preview_frames}

    @app.get("/api/browse")
    def listing(path: str = "") -> dict[str, Any]:
        if not path:
            return {"path": "", "entries": browse.list_roots(roots)}
        try:
            entries = browse.list_folder(roots, path)
        except NotADirectoryError:
            raise Forbidden(f"{path}: not a folder") from None
        return {"path": path, "entries": entries}

    @app.get("/api/probe")
    async def probe(path: str) -> dict[str, Any]:
        return await run_in_threadpool(browse.probe, roots, path)

    @app.get("/api/file")
    def raw_file(path: str) -> FileResponse:
        real = roots.resolve(path, must_exist=True)
        kind = IMAGE_TYPES.get(real.suffix.lower())
        if kind is None or not real.is_file():
            raise Forbidden(f"{path}: only images are served")
        return FileResponse(real, media_type=kind)


# --------------------------------------------------------------------------- set


def _set_routes(app: FastAPI, config: ServerConfig) -> None:
    from vidrestore.web.backend import command_line, load_config

    @app.get("/api/schema")
    def schema(command: str = "restore", preset: str = "", config_file: str = "") -> dict[str, Any]:
        spec = build_spec({"command": command, "preset": preset or None, "config": config_file or None,
                           "input": "", "output": ""}, config.roots, for_schema=True)
        cfg = load_config(spec)
        return {"preset": cfg.preset, "fields": form.schema(cfg)}

    @app.post("/api/check")
    async def check(request: Request) -> dict[str, Any]:
        body = await request.json()
        spec = build_spec(body, config.roots, for_schema=not body.get("output"))
        try:
            cfg = load_config(spec)
            check_config_paths(cfg, spec, config.roots, config.state_dir)
        except VidrestoreError as err:
            text = one_line(str(err))
            return {"ok": False, "error": text, "key": form.key_of_message(text), "command_line": _cmd(spec)}
        return {"ok": True, "yaml": config_yaml(cfg), "command_line": _cmd(spec), "preset": cfg.preset}

    def _cmd(spec: Any) -> str:
        shown = replace(spec, workdir=None, segmented=None) if hasattr(spec, "workdir") else spec
        try:
            return command_line(shown)
        except VidrestoreError as err:
            return f"# {one_line(str(err))}"


def config_yaml(cfg: Any) -> str:
    """The resolved config as the ``OUTPUT.vidrestore.yaml`` sidecar writes it (loadable with ``--config``)."""
    import yaml

    from vidrestore.config import config_to_dict

    return ("# resolved vidrestore config; reproduce with: vidrestore ... --config THIS_FILE\n"
            + yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


# --------------------------------------------------------------------------- preview


def _preview_routes(app: FastAPI, config: ServerConfig, store: JobStore) -> None:
    from vidrestore.web.backend import load_config

    @app.post("/api/preview")
    async def preview(request: Request) -> dict[str, Any]:
        from vidrestore.config import config_to_dict
        from vidrestore.web.worker import spec_to_dict

        body = await request.json()
        spec = build_spec({**body, "output": ""}, config.roots, for_schema=True, need_input=True)
        masks = bool(spec.options.get("save_masks"))
        spec = replace(spec, options={k: v for k, v in spec.options.items() if k != "save_masks"})
        cfg = load_config(spec)
        check_config_paths(cfg, spec, config.roots, config.state_dir)
        spec = await run_in_threadpool(_preview_spec, spec, cfg, body, config)
        key = preview_key(input_identity=await run_in_threadpool(input_identity, spec.input),
                          config=config_to_dict(cfg), spec={**spec_to_dict(spec), "masks": masks})
        spec = _place_preview(spec, store.previews_dir / key, masks=masks)
        folder, status = await run_in_threadpool(store.preview, spec, key)
        if status.get("state") != "done":
            text = status.get("message") or "the preview failed"
            return JSONResponse({"error": text, "key": form.key_of_message(text)}, status_code=400)
        return _preview_listing(key, folder, spec)

    @app.get("/api/preview/{key}/{name:path}")
    def preview_file(key: str, name: str) -> FileResponse:
        if not re.fullmatch(r"[0-9a-f]{24}", key):
            raise Forbidden(f"{key}: not a preview")
        base = (store.previews_dir / key).resolve()
        real = (base / name).resolve()
        if not real.is_relative_to(base) or real.suffix.lower() not in IMAGE_TYPES or not real.is_file():
            raise Forbidden(f"{name}: not a file of this preview")
        return FileResponse(real, media_type=IMAGE_TYPES[real.suffix.lower()],
                            headers={"Cache-Control": "private, max-age=86400"})


def _preview_spec(spec: Any, cfg: Any, body: dict[str, Any], config: ServerConfig) -> Any:
    """The frame range around the time the user picked, ``count`` frames (the API adds the warm-up
    and look-ahead the stages need, so these frames and their masks equal those of the full run)."""
    if spec.command == "decloud":
        return _decloud_preview_spec(spec, cfg)
    from vidrestore.io.probe import probe_video

    info = probe_video(str(spec.input), fps=cfg.io.fps)
    total = info.num_frames or 1
    count = max(1, min(int(body.get("count") or config.preview_frames), 16, total))
    rate = float(info.avg_rate or info.real_rate or 25)
    if body.get("frame") is not None:
        centre = int(body["frame"])
    else:
        centre = round(float(body.get("time_s") or 0.0) * rate)
    start = min(max(0, centre - count // 2), max(0, total - count))
    return replace(spec, frames=(start, start + count))


#: Series up to this many megapixel-dates are previewed by the whole job (before/after of every date);
#: larger ones by a dry run (the masks over the inputs), as the whole job would take too long to wait for.
DECLOUD_PREVIEW_MPD = 40.0


def _decloud_preview_spec(spec: Any, cfg: Any) -> Any:
    """The whole job for a small series (its outputs are exactly the job's), else a dry run."""
    from vidrestore.decloud.series import discover_series

    series = discover_series(spec.inputs, cfg.decloud)
    size = series.grid.width * series.grid.height * len(series.dates) / 1e6
    return spec if size <= DECLOUD_PREVIEW_MPD else replace(spec, options={**spec.options, "dry_run": True})


def _place_preview(spec: Any, folder: Path, *, masks: bool) -> Any:
    """Where a preview's files go: its own folder in the cache (the masks too, when asked for); a
    decloud preview's GeoTIFFs in ``out/``, the viewer's PNGs of its dates beside them."""
    options = {**spec.options, **({"save_masks": str(folder / "masks")} if masks else {})}
    out = folder / ("out" if spec.command == "decloud" else "after")
    return replace(spec, output=str(out), options=options, overwrite=True)


def _preview_listing(key: str, folder: Path, spec: Any) -> dict[str, Any]:
    def files(sub: str, frames: tuple[int, int] | None = None) -> list[str]:
        d = folder / sub
        if not d.is_dir():
            return []
        found = sorted(d.glob("*.png"))
        if frames is not None:  # masks are named by input frame: those of the range
            found = [p for p in found if p.stem.isdigit() and frames[0] <= int(p.stem) < frames[1]]
        return [f"/api/preview/{key}/{p.relative_to(folder).as_posix()}" for p in found]

    kinds = ("cloud", "shadow") if spec.command == "decloud" else ("dust", "scratch")
    masks = {kind: files(f"masks/{kind}", spec.frames) for kind in kinds}
    quick = sorted((folder / ("out" if spec.command == "decloud" else "after")).glob("*quicklook*.png"))
    dates = folder / "dates.json"
    return {"key": key, "frames": list(spec.frames) if spec.frames else None, "before": files("before"),
            "after": files("after"), "masks": {k: v for k, v in masks.items() if v},
            "quicklook": [f"/api/preview/{key}/{p.relative_to(folder).as_posix()}" for p in quick],
            "decloud_masks": files("masks") if spec.command == "decloud" else [],
            **(json.loads(dates.read_text()) if dates.is_file() else {})}


# --------------------------------------------------------------------------- run


def _job_routes(app: FastAPI, config: ServerConfig, store: JobStore) -> None:
    from vidrestore.web.backend import command_line, load_config

    @app.get("/api/jobs")
    def jobs() -> dict[str, Any]:
        return {"jobs": [_public(config, j) for j in store.list()]}

    @app.post("/api/jobs")
    async def start(request: Request) -> dict[str, Any]:
        body = await request.json()
        job_id, workdir = store.reserve()
        spec = build_spec(body, config.roots, workdir=str(workdir))
        cfg = load_config(spec)
        check_config_paths(cfg, spec, config.roots, config.state_dir)
        shown = replace(spec, workdir=None)
        label = body.get("label") or f"{spec.command} {Path(str(spec.output)).name} [{cfg.preset}]"
        store.create(spec, label=label, command_line=command_line(shown), job_id=job_id)
        return {"id": job_id}

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        return _public(config, store.describe(job_id))

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict[str, Any]:
        store.cancel(job_id)
        return {"ok": True}

    @app.post("/api/jobs/{job_id}/resume")
    def resume(job_id: str) -> dict[str, Any]:
        store.resume(job_id)
        return {"ok": True}

    @app.delete("/api/jobs/{job_id}")
    def remove(job_id: str) -> dict[str, Any]:
        store.remove(job_id)
        return {"ok": True}

    @app.get("/api/jobs/{job_id}/log")
    def job_log(job_id: str) -> PlainTextResponse:
        path = store.folder(job_id) / "log.txt"
        text = path.read_text(encoding="utf-8", errors="replace")[-20000:] if path.is_file() else ""
        return PlainTextResponse(text)

    @app.get("/api/jobs/{job_id}/files/{name:path}")
    def job_file(job_id: str, name: str) -> FileResponse:
        base = (store.folder(job_id) / RESULTS).resolve()
        real = (base / name).resolve()
        if not real.is_relative_to(base) or real.suffix.lower() not in IMAGE_TYPES or not real.is_file():
            raise Forbidden(f"{name}: not a result of this job")
        return FileResponse(real, media_type=IMAGE_TYPES[real.suffix.lower()])

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str, request: Request) -> StreamingResponse:
        folder = store.folder(job_id)

        async def stream():  # noqa: ANN202
            last = None
            while not await request.is_disconnected():
                status, progress = read_json(folder / STATUS), read_json(folder / PROGRESS)
                now = json.dumps({"state": status.get("state", "queued"), "message": status.get("message", ""),
                                  "progress": progress, "result": status.get("result")}, default=str)
                if now != last:
                    yield f"data: {now}\n\n"
                    last = now
                if status.get("state") in FINAL_STATES:
                    return
                await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _public(config: ServerConfig, job: dict[str, Any]) -> dict[str, Any]:
    """A job as the page sees it: paths as root references, never absolute."""
    spec = dict(job["spec"])
    for k in ("input", "output", "config"):
        v = spec.get(k)
        if isinstance(v, (list, tuple)):
            spec[k] = [config.roots.ref_of(Path(x)) for x in v]
        elif v:
            spec[k] = config.roots.ref_of(Path(v))
    spec.pop("workdir", None)
    out = {**job, "spec": spec}
    result = dict(out.get("result") or {})
    if "output" in result:
        result["output"] = config.roots.ref_of(Path(result["output"]))
    out["result"] = result or None
    out["extras"] = [f"/api/jobs/{job['id']}/files/{name}" for name in job["extras"]]
    if spec.get("command") == "decloud" and job["state"] == "done" and spec.get("output"):
        quick = config.roots.resolve(spec["output"]) / "decloud_quicklook.png"
        if quick.is_file():
            out["extras"].insert(0, f"/api/file?path={spec['output']}/decloud_quicklook.png")
    return out


__all__ = ["ServerConfig", "config_yaml", "create_app"]
