"""Video colourisation speed, memory and flicker (issue 19), for docs/results/video.md.

- speed: frames per second of ``tinct.pipeline.video.colourise_video`` (decode, model,
  stabiliser, recombine, libx264 encode, audio copy) at 480p (854x480) and 1080p
  (1920x1080), default model, with and without stabilisation, on synthetic clips of
  ``--frames`` frames (a real photo panned and zoomed, with an AAC sine track);
- memory: peak RSS (VmHWM) of a process colourising a ``--long-seconds`` 1080p clip,
  next to the same process on the short clip: streaming keeps it flat;
- flicker: :func:`tinct.eval.video.flicker_report` (warp error, CDC) on a panning crop of
  scikit-image's ``coffee`` (true colour known), with and without stabilisation.

Every measurement runs in a fresh subprocess (so peak RSS is its own). Prints a JSON
object and, with ``--markdown PATH``, writes the results page.

Usage: python benchmarks/bench_video.py [--frames 48] [--long-seconds 20] [--fps 25]
       [--threads N] [--markdown docs/results/video.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = {"480p": (854, 480), "1080p": (1920, 1080)}


def _photo() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.coffee())  # (400, 600, 3)


def make_clip(path: Path, width: int, height: int, frames: int, fps: int) -> None:
    """A clip panning and zooming slowly over a real photo, greyscale, with AAC audio."""
    import av
    import cv2

    photo = _photo()
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    video.options = {"crf": "20", "preset": "ultrafast"}
    audio = out.add_stream("aac", rate=44100)
    ph, pw = photo.shape[:2]
    for i in range(frames):
        zoom = 0.8 + 0.1 * np.sin(i / 40.0)
        cw, ch = int(pw * zoom * 0.9), int(ph * zoom * 0.9)
        x0 = int((pw - cw) * (0.5 + 0.5 * np.sin(i / 25.0)))
        y0 = int((ph - ch) * (0.5 + 0.5 * np.cos(i / 31.0)))
        crop = cv2.resize(photo[y0 : y0 + ch, x0 : x0 + cw], (width, height))
        grey = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        for packet in video.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")):
            out.mux(packet)
    for start in range(0, int(frames / fps * 44100), 1024):
        n = np.arange(start, start + 1024)
        samples = (0.2 * np.sin(2 * np.pi * 440 * n / 44100)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, start
        for packet in audio.encode(frame):
            out.mux(packet)
    for stream in (audio, video):
        for packet in stream.encode(None):
            out.mux(packet)
    out.close()


def child(clip: str, stabilise: bool, threads: int | None) -> dict[str, float]:
    """Colourise ``clip`` once in this process: fps and peak RSS."""
    import torch

    from tinct.eval import peak_rss_mib
    from tinct.pipeline import ColourisePipeline
    from tinct.pipeline.video import colourise_video

    if threads:
        torch.set_num_threads(threads)
    pipeline = ColourisePipeline.from_pretrained("default")
    loaded = peak_rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = colourise_video(clip, Path(tmp) / "out.mp4", pipeline, stabilise=stabilise)
        seconds = time.perf_counter() - start
    return {
        "frames": result.frames,
        "seconds": seconds,
        "fps": result.frames / seconds,
        "peak_rss_mib": peak_rss_mib(),
        "rss_after_load_mib": loaded,
    }


def run_child(clip: Path, stabilise: bool, threads: int | None) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", str(clip)]
    cmd += ["--threads", str(threads)] if threads else []
    cmd += [] if stabilise else ["--no-stabilise"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def flicker() -> dict[str, dict[str, float]]:
    """Flicker of the default model on 32 frames panning over ``coffee`` (320x200)."""
    from tinct.eval.video import flicker_report
    from tinct.pipeline import ColourisePipeline

    photo = _photo()
    truth = [
        np.ascontiguousarray(photo[60 + i : 260 + i, 40 + 3 * i : 360 + 3 * i]) for i in range(32)
    ]
    return flicker_report(truth, ColourisePipeline.from_pretrained("default"))


def markdown(data: dict) -> str:
    rows = [
        f"| {r['size']} | {'on' if r['stabilise'] else 'off'} | {r['frames']} | "
        f"{r['fps']:.2f} | {r['peak_rss_mib']:.0f} MiB |"
        for r in data["speed"]
    ]
    long = data["long"]
    fl = data["flicker"]
    flick = [
        f"| {name} | {fl[name]['warp_error']:.3f} | {fl[name]['cdc']:.4f} |"
        for name in ("truth", "unstabilised", "stabilised")
    ]
    return "\n".join(
        [
            "# Video colourisation: speed, memory and flicker",
            "",
            f"Command: `{data['command']}` (from the repository root, with tinct and PyAV "
            "installed or `PYTHONPATH=src`).",
            "",
            f"Machine: {data['machine']}; load before the run: `{data['uptime_before']}`, "
            f"after: `{data['uptime_after']}`. Speeds fall with the machine's load (a run "
            "at load 2.5-4 measured about a fifth of these), so compare rows of one run.",
            "",
            "## Speed",
            "",
            "Default model (model resolution 256), `colourise_video` end to end: PyAV "
            "decoding, model (4 frames per call), stabiliser, full-resolution recombination, "
            "libx264 encoding (crf 18, preset medium) and the audio copy. Synthetic clips: "
            "a greyscale pan and zoom over scikit-image's `coffee` photo, 25 fps, AAC audio. "
            "Each row is a fresh process.",
            "",
            "| size | stabilisation | frames | frames/s | peak RSS |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "## Memory on a long clip",
            "",
            f"A {data['long_seconds']} s 1080p clip ({long['frames']} frames"
            + ("" if data["long_seconds"] >= 600 else "; shorter than a 10-minute film")
            + f"): peak RSS "
            f"{long['peak_rss_mib']:.0f} MiB ({long['rss_after_load_mib']:.0f} MiB after "
            f"loading the model), against {data['short_1080p_peak']:.0f} MiB on the "
            f"{data['frames']}-frame clip: decoding and encoding stream, so memory does "
            f"not grow with the length. Speed on it: {long['fps']:.2f} frames/s.",
            "",
            "## Flicker",
            "",
            "`tinct.eval.video.flicker_report` on 32 frames of a 320x200 window panning "
            "over `coffee` (its true colour known): warp error (mean a*b* change between "
            "consecutive frames after motion compensation, flow on the truth, occluded "
            "pixels masked; CIELAB units) and CDC (Jensen-Shannon divergence of a*, b* "
            "histograms of frames 1, 2 and 4 apart). Lower is steadier.",
            "",
            "| video | warp error | CDC |",
            "|---|---|---|",
            *flick,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48, help="frames of the speed clips")
    parser.add_argument("--long-seconds", type=int, default=20, help="length of the long clip")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--markdown", default=None, help="write the results page here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-stabilise", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, not args.no_stabilise, args.threads)))
        return
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    data: dict = {
        "command": "python benchmarks/bench_video.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "uptime_before": uptime,
        "frames": args.frames,
        "long_seconds": args.long_seconds,
        "speed": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for size, (width, height) in SIZES.items():
            clip = Path(tmp) / f"{size}.mp4"
            make_clip(clip, width, height, args.frames, args.fps)
            for stabilise in (False, True):
                row = run_child(clip, stabilise, args.threads)
                data["speed"].append({"size": size, "stabilise": stabilise, **row})
                print(json.dumps(data["speed"][-1]), file=sys.stderr)
        data["short_1080p_peak"] = max(
            r["peak_rss_mib"] for r in data["speed"] if r["size"] == "1080p"
        )
        long_clip = Path(tmp) / "long.mp4"
        make_clip(long_clip, *SIZES["1080p"], args.long_seconds * args.fps, args.fps)
        data["long"] = run_child(long_clip, True, args.threads)
        print(json.dumps(data["long"]), file=sys.stderr)
    data["flicker"] = flicker()
    data["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(json.dumps(data, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(markdown(data), encoding="utf-8")


if __name__ == "__main__":
    main()
