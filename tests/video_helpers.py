"""Small synthetic videos for the video tests, written with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FPS = 96, 64, 12
SAMPLE_RATE = 22050


def scene_frame(index: int, cut: int | None) -> np.ndarray:
    """Frame ``index`` (H, W, 3) uint8: a gradient sky, a green floor and a red square
    moving right by 2 pixels a frame; from ``cut`` on, a different, darker blue scene."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    if cut is not None and index >= cut:
        rgb = np.zeros((HEIGHT, WIDTH, 3), np.float32)
        rgb[..., 2] = 60 + 40 * np.sin(xs / 9.0 + index * 0.2)
        rgb[..., 1] = 20 + ys * 0.5
        rgb[..., 0] = 10
        rgb[20:44, 30:60] = (230, 220, 40)
        return rgb.clip(0, 255).astype(np.uint8)
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.float32)
    rgb[..., 0] = 120 + ys
    rgb[..., 1] = 170 + ys * 0.5
    rgb[..., 2] = 250 - ys
    rgb[40:] = (60, 150, 50)
    rgb[40:, :] += (np.sin(xs[40:] / 3.0) * 20)[..., None]
    x0 = 4 + 2 * index
    rgb[14:34, x0 : x0 + 20] = (200, 40, 30)
    return rgb.clip(0, 255).astype(np.uint8)


def make_video(
    path: Path,
    frames: int = 16,
    *,
    cut: int | None = None,
    audio: bool = True,
    pix_fmt: str = "yuv420p",
    grey: bool = False,
    rotation: int = 0,
    codec: str = "libx264",
) -> list[np.ndarray]:
    """Write a video (H.264 by default; ``frames`` frames at 12 fps, an AAC sine track)
    and return its source frames."""
    import av

    out = av.open(str(path), "w")
    video = out.add_stream(codec, rate=FPS)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, pix_fmt
    if codec == "libx264":
        video.options = {"crf": "12"}
    if rotation:
        video.set_display_rotation(rotation)
    sound = out.add_stream("aac", rate=SAMPLE_RATE) if audio else None
    source = []
    for i in range(frames):
        rgb = scene_frame(i, cut)
        if grey:
            rgb = np.repeat(rgb.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
        source.append(rgb)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for packet in video.encode(frame):
            out.mux(packet)
    if sound is not None:
        seconds = frames / FPS
        total = int(seconds * SAMPLE_RATE)
        for start in range(0, total, 1024):
            n = np.arange(start, start + 1024)
            samples = (0.3 * np.sin(2 * np.pi * 440 * n / SAMPLE_RATE)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(samples[None], format="fltp", layout="mono")
            af.sample_rate = SAMPLE_RATE
            af.pts = start
            for packet in sound.encode(af):
                out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)
    for packet in video.encode(None):
        out.mux(packet)
    out.close()
    return source


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video as (H, W, 3) uint8 RGB."""
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def audio_packets(path: Path) -> list[bytes]:
    """The bytes of every audio packet, in order."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]
