"""Make the small clips in samples/ (deterministic; under 2 MB in all).

    python tools/make_samples.py [--out samples]

* moving.mp4  - 320x240 25 fps 3 s: a textured scene under smooth camera motion with a moving
                object, H.264 + AAC 440 Hz tone (stereo). The main-job sample.
* vfr.mkv     - 320x240, 36 frames at irregular times (10-40 ms gaps), H.264 + Opus tone +
                an SRT subtitle track (variable frame rate, subtitles kept).
* tenbit.mkv  - 256x144 10-bit HEVC (yuv420p10le) of smooth gradients that 8 bits would band,
                tagged BT.2020 / PQ (HDR10 style), AAC tone.
* odd.mp4     - 161x97 (odd size) H.264 4:4:4 + AAC tone.
* frames16/   - 6 frames of 16-bit PNG (an image sequence with more than 8 bits).
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np


def texture(h: int, w: int, seed: int) -> np.ndarray:
    """A colourful, detailed float image in [0, 1] (smoothed noise at several scales plus shapes)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for scale, amp in ((64, 0.5), (16, 0.3), (4, 0.15)):
        small = rng.random((max(2, h // scale), max(2, w // scale), 3)).astype(np.float32)
        img += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img += 0.025 * rng.random((h, w, 1)).astype(np.float32)  # fine luminance grain, as on film
    for _ in range(25):
        c = tuple(float(v) for v in rng.random(3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(4, 24)), c, -1, lineType=cv2.LINE_AA)
        else:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(6, 40)), y + int(rng.integers(6, 40))), c, -1)
    return np.clip(img, 0, 1)


def scene_frames(n: int, w: int, h: int, seed: int = 0) -> list[np.ndarray]:
    """Frames (float [0,1]) of a camera panning/zooming over a texture, with an object crossing."""
    import cv2

    big = texture(h * 2, w * 2, seed)
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        dx = 40 + 120 * t + 6 * math.sin(2 * math.pi * t)
        dy = 30 + 50 * t
        zoom = 1.0 + 0.08 * t
        m = np.array([[zoom, 0, dx], [0, zoom, dy]], np.float32)
        frame = cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        cx, cy = int(20 + (w - 40) * t), int(h * 0.6 + 15 * math.sin(4 * math.pi * t))
        cv2.circle(frame, (cx, cy), max(6, h // 12), (0.95, 0.2, 0.1), -1, lineType=cv2.LINE_AA)
        out.append(np.clip(frame, 0, 1))
    return out


def _add_tone(container, codec: str, seconds: float, rate: int = 48000, layout: str = "stereo") -> None:
    import av

    stream = container.add_stream(codec, rate=rate, layout=layout)
    stream.codec_context.bit_rate = 96_000
    fmt = stream.codec_context.codec.audio_formats[0].name
    frame_size = stream.codec_context.frame_size or 1024
    total = int(seconds * rate)
    channels = 2 if layout == "stereo" else 1
    resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate, frame_size=frame_size)
    pos = 0
    packets = []
    while pos < total:
        n = min(frame_size, total - pos)
        t = (np.arange(pos, pos + n) / rate).astype(np.float64)
        tone = (0.2 * np.sin(2 * math.pi * 440 * t) + 0.05 * np.sin(2 * math.pi * 880 * t)).astype(np.float32)
        data = np.repeat(tone[None, :], channels, axis=0)
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout=layout)
        af.sample_rate = rate
        af.pts = pos
        af.time_base = Fraction(1, rate)
        for rf in resampler.resample(af):
            packets.extend(stream.encode(rf))
        pos += n
    for rf in resampler.resample(None):
        packets.extend(stream.encode(rf))
    packets.extend(stream.encode(None))
    return packets


def write_clip(path: Path, frames: list[np.ndarray], *, pts: list[int], time_base: Fraction, rate: Fraction,
               codec: str = "libx264", pix_fmt: str = "yuv420p", bits: int = 8, options: dict | None = None,
               audio: str | None = "aac", color: dict | None = None) -> None:
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=rate, options=options or {})
        vs.width, vs.height = frames[0].shape[1], frames[0].shape[0]
        vs.pix_fmt = pix_fmt
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        for k, v in (color or {}).items():
            setattr(vs.codec_context, k, v)
        audio_packets = []
        if audio:
            seconds = float((pts[-1] + (pts[-1] - pts[-2])) * time_base)
            audio_packets = _add_tone(out, audio, seconds)
        for f, p in zip(frames, pts):
            if bits > 8:
                arr = np.clip(np.rint(f * 65535), 0, 65535).astype(np.uint16)
                vf = av.VideoFrame.from_ndarray(arr, format="rgb48le")
            else:
                arr = np.clip(np.rint(f * 255), 0, 255).astype(np.uint8)
                vf = av.VideoFrame.from_ndarray(arr, format="rgb24")
            if color and "colorspace" in color:
                from av.video.reformatter import Colorspace

                vf = vf.reformat(format=pix_fmt, src_colorspace=Colorspace.BT2020, dst_colorspace=Colorspace.BT2020,
                                 dst_color_range=1)
            vf.pts = p
            for packet in vs.encode(vf):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        for packet in audio_packets:
            out.mux(packet)


def gradients(n: int, w: int, h: int) -> list[np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        ph = i / n
        r = 0.35 + 0.05 * xs / w + 0.01 * math.sin(2 * math.pi * ph)
        g = 0.30 + 0.06 * ys / h
        b = 0.40 + 0.04 * (xs + ys) / (w + h) + 0.1 * np.exp(-(((xs - w * (0.2 + 0.6 * ph)) / 20) ** 2 + ((ys - h / 2) / 20) ** 2))
        out.append(np.stack([r, g, b], -1).clip(0, 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "samples"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x264 = {"crf": "14", "preset": "medium"}

    # moving.mp4: 75 frames at 25 fps, time base 1/12800 (as ffmpeg writes mp4)
    frames = scene_frames(75, 320, 240, seed=1)
    tb = Fraction(1, 12800)
    write_clip(out / "moving.mp4", frames, pts=[i * 512 for i in range(75)], time_base=tb, rate=Fraction(25),
               options=x264)

    # vfr.mkv: irregular gaps (ms), Opus audio, then an SRT subtitle track muxed by ffmpeg
    rng = np.random.default_rng(7)
    gaps = rng.integers(10, 41, size=35)
    pts = [0] + list(np.cumsum(gaps).astype(int))
    frames = scene_frames(36, 320, 240, seed=2)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td) / "vfr.mkv"
        write_clip(tmp, frames, pts=pts, time_base=Fraction(1, 1000), rate=Fraction(30), options=x264,
                   audio="libopus")
        srt = Path(td) / "subs.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:00,400\nvidrestore keeps subtitles\n\n"
                       "2\n00:00:00,450 --> 00:00:00,800\nand every frame\n", encoding="utf-8")
        if shutil.which("ffmpeg"):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp), "-i", str(srt), "-map", "0", "-map", "1",
                            "-c", "copy", "-metadata:s:s:0", "language=eng", str(out / "vfr.mkv")], check=True)
        else:
            shutil.copyfile(tmp, out / "vfr.mkv")

    # tenbit.mkv: 10-bit HEVC, HDR10-style tags
    frames = gradients(24, 256, 144)
    write_clip(out / "tenbit.mkv", frames, pts=list(range(24)), time_base=Fraction(1, 24), rate=Fraction(24),
               codec="libx265", pix_fmt="yuv420p10le", bits=10,
               options={"crf": "12", "preset": "fast", "x265-params": "log-level=error"},
               color={"color_primaries": 9, "color_trc": 16, "colorspace": 9, "color_range": 1})

    # odd.mp4: odd frame size, 4:4:4
    frames = [f[40:137, 60:221] for f in scene_frames(20, 320, 240, seed=3)]  # 161x97 crop
    write_clip(out / "odd.mp4", frames, pts=[i * 512 for i in range(20)], time_base=tb, rate=Fraction(25),
               pix_fmt="yuv444p", options=x264)

    # frames16/: 16-bit PNG sequence
    import cv2

    seq = out / "frames16"
    seq.mkdir(exist_ok=True)
    for i, f in enumerate(gradients(6, 96, 64)):
        arr = np.clip(np.rint(f * 65535), 0, 65535).astype(np.uint16)
        cv2.imwrite(str(seq / f"frame_{i:04d}.png"), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"samples written to {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
