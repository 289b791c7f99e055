"""Video colourisation (issue 19): io.video, pipeline.temporal / pipeline.video,
eval.video and ``tinct colourise`` on videos, on small synthetic videos made with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

import av
import torch

from tinct.cli import main
from tinct.eval.video import cdc, flicker_report, js_divergence, warp_error
from tinct.io import VideoReadError, VideoTranscoder, is_video_path
from tinct.pipeline import ColourisePipeline, collect_inputs, plan_outputs
from tinct.pipeline.temporal import ChromaStabiliser, histogram_distance, lightness_u8
from tinct.pipeline.video import FrameColouriser, colourise_video
from video_helpers import (
    FPS,
    HEIGHT,
    WIDTH,
    audio_packets,
    make_video,
    read_frames,
    scene_frame,
)

SIZE = 64  # model resolution: small, so the tests take seconds


@pytest.fixture(scope="module")
def pipeline() -> ColourisePipeline:
    return ColourisePipeline.from_pretrained("default", size=SIZE, precision="fp32")


def _stream(path: Path) -> tuple[int, int, int, object, int | None]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return frames, video.width, video.height, video.average_rate, container.duration


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_video_round_trip_keeps_frames_size_rate_audio_and_rotation(
    tmp_path: Path, pipeline: ColourisePipeline
) -> None:
    src = tmp_path / "film.mp4"
    make_video(src, 14, rotation=90)
    dest = tmp_path / "out" / "film.mp4"
    result = colourise_video(src, dest, pipeline)
    assert result.frames == 14 and result.stopped is None
    frames, width, height, rate, duration = _stream(dest)
    assert (frames, width, height, rate) == (14, WIDTH, HEIGHT, FPS)
    src_duration = _stream(src)[4]
    assert duration is not None and src_duration is not None
    assert abs(duration - src_duration) < 1_000_000 / FPS  # within a frame (microseconds)
    packets = audio_packets(src)
    assert packets and audio_packets(dest) == packets  # remuxed bit for bit
    with av.open(str(dest)) as container:
        assert next(container.decode(video=0)).rotation == 90
    coloured = read_frames(dest)[5]
    spread = coloured.astype(int).max(axis=2) - coloured.astype(int).min(axis=2)
    assert spread.mean() > 3  # it has colour
    assert _leftovers(dest.parent) == []


def test_keep_luminance_copies_the_y_plane(tmp_path: Path, pipeline: ColourisePipeline) -> None:
    src = tmp_path / "film.mp4"
    make_video(src, 6, audio=False)
    dest = tmp_path / "out.mp4"
    colourise_video(src, dest, pipeline, keep_luminance=True, crf=0)  # x264 crf 0: lossless

    def y_planes(path: Path) -> list[np.ndarray]:
        with av.open(str(path)) as container:
            out = []
            for frame in container.decode(video=0):
                plane = frame.planes[0]
                rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                out.append(rows[:HEIGHT, :WIDTH].copy())
            return out

    assert all(np.array_equal(a, b) for a, b in zip(y_planes(src), y_planes(dest), strict=True))


def test_greyscale_source(tmp_path: Path, pipeline: ColourisePipeline) -> None:
    src = tmp_path / "grey.mkv"
    make_video(src, 6, pix_fmt="gray", grey=True, codec="ffv1")
    with av.open(str(src)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "gray"
    dest = tmp_path / "grey_colour.mkv"
    assert colourise_video(src, dest, pipeline).frames == 6
    frames = read_frames(dest)
    assert len(frames) == 6 and frames[0].shape == (HEIGHT, WIDTH, 3)


def test_stabilisation_lowers_flicker(pipeline: ColourisePipeline) -> None:
    truth = [scene_frame(i, None) for i in range(12)]
    report = flicker_report(truth, pipeline)
    assert report["stabilised"]["warp_error"] < 0.8 * report["unstabilised"]["warp_error"]
    assert report["stabilised"]["cdc"] < report["unstabilised"]["cdc"]
    assert report["truth"]["warp_error"] < report["stabilised"]["warp_error"]


def test_no_colour_carried_across_a_cut(pipeline: ColourisePipeline) -> None:
    cut = 6
    frames = [scene_frame(i, cut) for i in range(10)]
    assert (
        histogram_distance(lightness_u8(frames[cut - 1], 32, 48), lightness_u8(frames[cut], 32, 48))
        > ChromaStabiliser().cut_threshold
    )
    stabiliser = ChromaStabiliser()
    steady = list(FrameColouriser(pipeline, stabiliser=stabiliser, batch=3)(frames))
    plain = list(FrameColouriser(pipeline, stabilise=False, batch=3)(frames))
    assert stabiliser.cuts == 1
    assert np.array_equal(steady[cut], plain[cut])  # the first frame after the cut
    assert np.array_equal(steady[0], plain[0])
    assert not np.array_equal(steady[cut - 1], plain[cut - 1])  # stabilised before it


def test_batched_prediction_equals_single(pipeline: ColourisePipeline) -> None:
    frames = [scene_frame(i, None) for i in range(3)]
    batch = pipeline.predict_chroma_batch(frames)
    single = torch.stack([pipeline.predict_chroma(f) for f in frames])
    assert torch.allclose(batch, single, atol=1e-3)


def test_metrics_reference_values() -> None:
    p = np.array([0.5, 0.5, 1e-12])
    q = np.array([1e-12, 0.5, 0.5])
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-9)
    assert js_divergence(p, q) == pytest.approx(0.5, abs=1e-6)  # two of four halves shared
    still = [scene_frame(0, None)] * 5
    assert cdc(still) == pytest.approx(0.0, abs=1e-9)
    assert warp_error(still) == pytest.approx(0.0, abs=1e-3)
    noisy = [np.clip(f.astype(int) + (i % 2) * 40 * np.array([1, -1, 0]), 0, 255).astype(np.uint8)
             for i, f in enumerate(still)]  # fmt: skip
    assert warp_error(noisy, still) > 5 and cdc(noisy) > 0.05


def _truncated_copy(src: Path, dest: Path, keep: float) -> None:
    """``src`` rewritten with its index first (faststart) and cut to ``keep`` of its size."""
    whole = dest.with_suffix(".whole.mp4")
    with av.open(str(src)) as i, av.open(str(whole), "w", options={"movflags": "faststart"}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for packet in i.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                o.mux(packet)
    data = whole.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    whole.unlink()


def test_truncated_video_reported_and_no_output_left(
    tmp_path: Path, pipeline: ColourisePipeline
) -> None:
    make_video(tmp_path / "full.mp4", 20)
    src = tmp_path / "in" / "cut.mp4"
    src.parent.mkdir()
    _truncated_copy(tmp_path / "full.mp4", src, 0.7)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(VideoReadError, match=r"cut\.mp4.*truncated"):
        colourise_video(src, out / "cut.mp4", pipeline)
    assert list(out.iterdir()) == []
    result = colourise_video(src, out / "cut.mp4", pipeline, skip_errors=True)
    assert result.stopped is not None and 0 < result.frames < 20
    assert len(read_frames(out / "cut.mp4")) == result.frames
    assert _leftovers(out) == []


def test_unreadable_video(tmp_path: Path) -> None:
    src = tmp_path / "junk.mp4"
    src.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 500)
    with pytest.raises(VideoReadError, match=r"junk\.mp4"):
        VideoTranscoder(src, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists() or (tmp_path / "out.mp4").stat().st_size == 0


def test_inputs_and_outputs_of_videos(tmp_path: Path) -> None:
    folder = tmp_path / "mix"
    folder.mkdir()
    for name in ("a.mp4", "b.MOV", "c.png", "d.txt"):
        (folder / name).write_bytes(b"x")
    found = collect_inputs([folder], videos=True)
    assert sorted(p.name for p, _ in found.files) == ["a.mp4", "b.MOV", "c.png"]
    assert [p.name for p, _ in collect_inputs([folder]).files] == ["c.png"]
    plan = plan_outputs(found.files, out_dir=tmp_path / "out", ext="jpg")
    assert sorted(d.name for _, d in plan.todo) == ["a.mp4", "b.mov", "c.jpg"]
    assert is_video_path("x.MKV") and not is_video_path("x.gif")
    with pytest.raises(ValueError, match="replace the input"):
        plan_outputs(found.files, out_dir=folder)


def test_cli_mixed_folder_broken_video_and_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "film.mp4", 6)
    (folder / "broken.mp4").write_bytes((folder / "film.mp4").read_bytes()[:3000])
    from PIL import Image

    Image.fromarray(scene_frame(0, None).mean(axis=2).astype(np.uint8)).save(folder / "p.png")
    out = tmp_path / "out"
    args = ["colourise", str(folder), "-o", str(out), "--size", str(SIZE), "--no-stabilise"]
    assert main(args) == 1  # the broken video is skipped and listed
    err = capsys.readouterr().err
    assert "broken.mp4" in err and len([line for line in err.splitlines() if "broken" in line]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["film.mp4", "p.png"]
    before = (out / "film.mp4").stat().st_mtime_ns
    assert main([*args, "-q"]) == 1  # outputs exist: kept, not redone
    assert (out / "film.mp4").stat().st_mtime_ns == before
    assert main(["colourise", str(folder / "film.mp4"), "--pix-fmt", "nope"]) == 2


def test_cli_skip_errors_keeps_what_decodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_video(tmp_path / "full.mp4", 20)
    src = tmp_path / "cut.mp4"
    _truncated_copy(tmp_path / "full.mp4", src, 0.7)
    out = tmp_path / "out"
    args = ["colourise", str(src), "-o", str(out), "--size", str(SIZE), "-q"]
    assert main(args) == 1
    assert "cut.mp4" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []
    assert main([*args, "--skip-errors"]) == 1  # listed: only part of it was colourised
    err = capsys.readouterr().err
    assert "partly colourised" in err and "stopped after" in err
    assert 0 < len(read_frames(out / "cut.mp4")) < 20


def test_interrupt_leaves_no_partial_video(
    tmp_path: Path, pipeline: ColourisePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinct.pipeline.video import colourise_videos

    src = tmp_path / "film.mp4"
    make_video(src, 12, audio=False)
    calls = 0
    real = FrameColouriser.colourise_batch

    def interrupted(self: FrameColouriser, frames: list[np.ndarray]) -> list[np.ndarray]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real(self, frames)

    monkeypatch.setattr(FrameColouriser, "colourise_batch", interrupted)
    out = tmp_path / "out"
    result = colourise_videos([(src, out / "film.mp4")], pipeline)
    assert result.interrupted and result.remaining == 1 and not result.written
    assert not out.exists() or list(out.iterdir()) == []
