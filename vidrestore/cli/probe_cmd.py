"""``vidrestore probe INPUT [--json]``: what a file or image folder holds."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("probe", parents=[common], help="describe a video file or image sequence",
                       description=__doc__)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--fps", metavar="RATE", help="frame rate of an image sequence (default 25)")
    p.add_argument("--no-count", action="store_true", help="do not demux the file to count frames exactly")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore.io.probe import info_to_dict, probe_video

    info = probe_video(args.input, fps=args.fps, count_frames=not args.no_count)
    d = info_to_dict(info)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    v = d["video"]
    frames = f"{v['frames']}" + ("" if v["frames_exact"] else " (estimated)") if v["frames"] is not None else "unknown"
    lines = [
        f"{d['path']}  [{d['container']}]",
        f"  video #{v['index']}: {v['codec']} {v['width']}x{v['height']} {v['pix_fmt']} ({v['bit_depth']}-bit)"
        + (f", rotation {v['rotation']}" if v["rotation"] else ""),
        f"    rate avg {v['avg_frame_rate']} ({(v['avg_fps'] or 0):.3f} fps), real {v['real_frame_rate']}, "
        f"time base {v['time_base']}{', variable frame rate' if v['variable_frame_rate'] else ''}",
        f"    frames {frames}, duration {v['duration'] if v['duration'] is not None else 'unknown'} s, "
        f"start {v['start_time']}",
        f"    colour: range {v['color_range']}, primaries {v['color_primaries']}, transfer {v['color_transfer']}, "
        f"matrix {v['color_matrix']}{' (HDR)' if v['hdr'] else ''}",
    ]
    for a in d["audio"]:
        lines.append(f"  audio #{a['index']}: {a['codec']} {a['sample_rate']} Hz {a['layout'] or a['channels']}"
                     + (f" [{a['language']}]" if a["language"] else ""))
    for s in d["subtitles"]:
        lines.append(f"  subtitle #{s['index']}: {s['codec']}" + (f" [{s['language']}]" if s["language"] else ""))
    for o in d["other"]:
        lines.append(f"  {o['kind']} #{o['index']}: {o['codec']}")
    print("\n".join(lines))
    return 0
