"""``vidrestore decloud INPUT... -o OUTDIR``: fill clouds and shadows of a satellite time series.

INPUT is a folder of GeoTIFFs (one per date, or per band and date with --pattern), a text file
listing them, several files, or one multi-date stack. Options map onto the ``decloud`` config
section (preset ``decloud``), so ``--bands blue=1,...`` equals ``--set decloud.bands={blue: 1, ...}``.

``--workdir``/``--resume``/``--keep-workdir``/``--engine ray`` run it as a resumable job of
spatial tiles (docs/DISTRIBUTED.md) with the outputs of one pass, bit for bit.
"""

from __future__ import annotations

import argparse

from vidrestore.cli import job_spec, jobs_parser

EPILOG = """examples:
  vidrestore decloud scenes/ -o clean/ --bands blue=1,green=2,red=3,nir=4
  vidrestore decloud l2a/ -o clean/ --pattern "T33TVM_{date}_{band}.tif" --masks "T33TVM_{date}_SCL.tif" --mask-type scl
  vidrestore decloud stack.tif -o clean/ --composite median --set decloud.buffer=4
  vidrestore decloud landsat/ -o clean/ --bands blue=2,green=3,red=4,nir=5 --detector csmask --cog --stac
  vidrestore decloud items/*.json -o clean/ --dry-run      (STAC Items in; masks and report only)
outputs: one GeoTIFF per input (same name, georeferencing, dtype, nodata, tags), <stem>_mask.tif
(0 clear, 1 cloud, 2 shadow), <stem>_source.tif (YYYYMMDD a pixel was filled from),
<stem>_quality.tif, decloud_report.json/.txt (per date: what was replaced and why), decloud_quicklook.png,
composite_<kind>.tif; with --stac <stem>.stac.json per date. Only masked pixels change: every clear
pixel is copied bit for bit. Provider masks beside the bands (*_QA_PIXEL, *_CMASK, *_SCL, *_Fmask)
are found by name and are the authority."""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("decloud", parents=[common, jobs_parser(segment_frames=False)], help="fill clouds and shadows in a satellite time series",
                       description=__doc__.split("\n\n", 1)[0].split(": ", 1)[1],
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="folder, list file (.txt), GeoTIFFs or one stack")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", metavar="NAME", help="a preset from configs/ (default: decloud)")
    g.add_argument("--config", metavar="FILE.yaml", help="a config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set decloud.buffer=4 (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs in OUTDIR")
    d = p.add_argument_group("decloud options (shortcuts for decloud.* keys)")
    d.add_argument("--pattern", metavar="TEMPLATE",
                   help="one file per band and date: name template with {date} and {band}, e.g. S2_{date}_{band}.tif")
    d.add_argument("--bands", metavar="ROLE=BAND,...",
                   help="band roles for detection, e.g. blue=1,green=2,red=3,nir=4 (numbers or band names)")
    d.add_argument("--masks", metavar="FOLDER|TEMPLATE",
                   help="mask files: a folder (matched by date) or a template like {stem}_SCL.tif")
    d.add_argument("--mask-type", choices=("auto", "binary", "s2cloudless", "scl", "fmask", "qa_pixel", "cmask",
                                           "values"),
                   help="how mask values read (default auto: from the name or dtype; qa_pixel = Landsat C2 bit "
                        "flags, cmask = CBERS)")
    d.add_argument("--detector", choices=("auto", "spectral", "csmask", "s2cloudless"),
                   help="cloud detector (default auto: a learned one whose bands are mapped and package installed)")
    d.add_argument("--scale", type=float, metavar="VALUE",
                   help="pixel value meaning reflectance 1, e.g. 10000 (default: from the dtype, for csmask "
                        "learned from the band statistics)")
    d.add_argument("--dry-run", action="store_true", help="write only the masks and the report of what would change")
    d.add_argument("--cog", action="store_true", help="write image outputs as Cloud-Optimized GeoTIFFs")
    d.add_argument("--stac", action="store_true", help="write a STAC Item JSON per output date")
    d.add_argument("--cloud-values", metavar="V,V", help="mask values meaning cloud, e.g. 8,9,10")
    d.add_argument("--shadow-values", metavar="V,V", help="mask values meaning cloud shadow, e.g. 3")
    d.add_argument("--composite", choices=("none", "median", "best"), help="also write one cloud-free image")
    d.add_argument("--reproject", action="store_true", help="warp dates on another CRS/grid onto the first date's")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore import api

    spec = job_spec(args, "decloud", api.OPTIONS["decloud"])
    if args.quiet:
        job = api.run(spec)
    else:
        from tqdm.contrib.logging import logging_redirect_tqdm

        with logging_redirect_tqdm():
            job = api.run(spec, bar=True)
    result = job.detail
    if not args.quiet and job.config.decloud.dry_run:
        masked = sum(s.cloud + s.shadow for s in result.stats)
        print(f"{args.output}: dry run, {len(result.stats)} dates: {masked} px would be replaced "
              f"(masks and report written, no image); report {result.report}")
    elif not args.quiet:
        filled = sum(s.filled_both + s.filled_one for s in result.stats)
        inpainted = sum(s.inpainted for s in result.stats)
        print(f"{args.output}: {len(result.stats)} dates declouded in {result.seconds:.1f} s "
              f"({filled} px filled in time, {inpainted} px inpainted); report {result.report}")
    return 0
