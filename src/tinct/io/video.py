"""Video files (PyAV): frames decoded one at a time, re-encoded, audio remuxed untouched.

:class:`VideoTranscoder` reads one video file and writes another: :meth:`frames` decodes
the first video stream frame by frame (never the whole video in memory) while copying
the packets of every audio stream to the output as they are (no re-encoding, so the
sound is bit-identical); :meth:`write` encodes one RGB frame with its input time stamp
(so frame rate, duration and variable frame timing are kept); :meth:`close` flushes.
Size and the rotation of the display matrix are copied. Write to a temporary file
(:func:`tinct.io.atomic_path`) so that only complete videos ever exist.

Errors: :class:`VideoReadError` names the file, the reason, and how many frames were
decoded before it (a truncated file decodes its first part, then fails).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np

__all__ = [
    "DEFAULT_CODECS",
    "VIDEO_EXTENSIONS",
    "VideoFrame",
    "VideoInfo",
    "VideoReadError",
    "VideoTranscoder",
    "check_encoder",
    "is_video_path",
]

#: Lower-case suffixes taken as videos (in folders, globs and named files).
VIDEO_EXTENSIONS: Final[frozenset[str]] = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
)

#: Default encoder per output suffix (WebM only holds VP8/VP9/AV1).
DEFAULT_CODECS: Final[dict[str, str]] = {".webm": "libvpx-vp9"}
DEFAULT_CODEC: Final[str] = "libx264"

#: Pixel formats whose first plane is an 8-bit luma (Y) plane of the frame's size.
_Y_PLANE_FORMATS: Final[frozenset[str]] = frozenset(
    {"gray", "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"}
)


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a video suffix (:data:`VIDEO_EXTENSIONS`, any case)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


class VideoReadError(Exception):
    """A video that cannot be (fully) decoded: ``path``, ``reason`` in words, and
    ``frames`` decoded before the failure (``seconds``: the time stamp reached)."""

    def __init__(self, path: Path, reason: str, frames: int = 0, seconds: float = 0.0) -> None:
        self.path = path
        self.reason = reason
        self.frames = frames
        self.seconds = seconds
        where = f" after {frames} frame(s) ({seconds:.2f} s)" if frames else ""
        super().__init__(f"cannot read video {path}{where}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    """The input's first video stream: ``width`` x ``height`` (coded, before rotation),
    ``fps`` (average), ``frames`` declared by the container (0: unknown), ``duration``
    in seconds (None: unknown), ``pix_fmt``, and the number of ``audio`` streams."""

    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float | None
    pix_fmt: str
    audio: int


@dataclass
class VideoFrame:
    """One decoded frame: ``rgb`` ``(H, W, 3)`` uint8, its 8-bit ``luma`` plane
    ``(H, W)`` when the source has one (None otherwise), ``pts`` in the stream's time
    base, ``index`` from 0 and ``seconds``."""

    rgb: np.ndarray
    luma: np.ndarray | None
    pts: int | None
    index: int
    seconds: float


def _reason(err: BaseException) -> str:
    """One line for an error (FFmpeg's text without its errno and file name)."""
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return str(text).splitlines()[0]


def check_encoder(codec: str | None, pix_fmt: str) -> None:
    """``ValueError`` naming the option unless ``codec`` (None: the default) is a video
    encoder of this FFmpeg build and ``pix_fmt`` a pixel format it knows."""
    import av

    if codec is not None:
        try:
            found = av.Codec(codec, "w")
        except (av.error.FFmpegError, ValueError):
            raise ValueError(
                f"unknown video encoder {codec!r} (this FFmpeg build lacks it)"
            ) from None
        if found.type != "video":
            raise ValueError(f"{codec!r} is not a video encoder")
    try:
        av.VideoFormat(pix_fmt)
    except (av.error.FFmpegError, ValueError):
        raise ValueError(f"unknown pixel format {pix_fmt!r} (e.g. yuv420p, yuv444p)") from None


def _plane(plane: Any, height: int, width: int) -> np.ndarray:
    """An 8-bit plane's ``(height, width)`` pixels (its rows may be padded)."""
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[:height, :width].copy()


class VideoTranscoder:
    """Decode ``src`` frame by frame and encode frames to ``dest``, audio copied.

    Args:
        src: the video to read.
        dest: the file to write (its suffix picks the container); use a temporary
            name and rename it when complete.
        codec: video encoder (default ``libx264``; ``libvpx-vp9`` for ``.webm``).
        crf: constant-rate-factor quality (lower is better; 0 lossless with x264).
        pix_fmt: output pixel format (default ``yuv420p``, what players expect).

    Raises :class:`VideoReadError` when ``src`` cannot be opened or has no video stream,
    and ``ValueError`` for an unknown codec or pixel format.
    """

    def __init__(
        self,
        src: str | os.PathLike[str],
        dest: str | os.PathLike[str],
        *,
        codec: str | None = None,
        crf: int = 18,
        pix_fmt: str = "yuv420p",
    ) -> None:
        import av

        self.src = Path(src)
        self.dest = Path(dest)
        # PyAV's objects are typed loosely (unions of stream and frame kinds): Any here.
        self._input: Any
        self._output: Any
        self._video: Any
        self._out_video: Any
        try:
            self._input = av.open(os.fspath(src))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as err:
            raise VideoReadError(self.src, _reason(err)) from None
        try:
            if not self._input.streams.video:
                raise VideoReadError(self.src, "no video stream")
            self._video = self._input.streams.video[0]
            self._video.thread_type = "AUTO"
            self._audio = list(self._input.streams.audio)
            ctx = self._video.codec_context
            rate = self._video.average_rate or self._video.guessed_rate or Fraction(25)
            duration = float(self._input.duration) / 1_000_000 if self._input.duration else None
            self.info = VideoInfo(
                width=ctx.width,
                height=ctx.height,
                fps=Fraction(rate),
                frames=int(self._video.frames or 0),
                duration=duration,
                pix_fmt=ctx.pix_fmt or "",
                audio=len(self._audio),
            )
            if self.info.width < 1 or self.info.height < 1:
                raise VideoReadError(self.src, "the video stream has no frame size")
            codec = codec or DEFAULT_CODECS.get(self.dest.suffix.lower(), DEFAULT_CODEC)
            if codec not in av.codecs_available:
                raise ValueError(f"unknown video codec {codec!r} (this FFmpeg build lacks it)")
            self._output = av.open(os.fspath(dest), "w")
        except BaseException:
            self._input.close()
            raise
        try:
            stream = self._output.add_stream(codec, rate=self.info.fps)
            stream.width = self.info.width
            stream.height = self.info.height
            try:
                stream.pix_fmt = pix_fmt
            except (ValueError, av.error.FFmpegError) as err:
                raise ValueError(f"unknown pixel format {pix_fmt!r}: {_reason(err)}") from None
            stream.time_base = self._video.time_base
            options = {"crf": str(crf)}
            if codec == "libvpx-vp9":
                options["b"] = "0"  # constant quality mode
            stream.options = options
            self._out_video = stream
            self._out_audio = {
                a.index: self._output.add_stream_from_template(a) for a in self._audio
            }
        except BaseException:
            self._output.close()
            self._input.close()
            raise
        self.pix_fmt = pix_fmt
        self.frames_read = 0
        self.frames_written = 0
        # Audio waits until the video encoder is open (the header needs its parameters,
        # and the rotation, known from the first decoded frame).
        self._rotation_set = False
        self._header_ready = False
        self._pending_audio: list[Any] = []
        self._closed = False

    def _mux_audio(self, packet: Any) -> None:
        if packet.dts is None:  # the demuxer's empty flush packet
            return
        packet.stream = self._out_audio[packet.stream.index]
        if self._header_ready:
            self._output.mux(packet)
        else:
            self._pending_audio.append(packet)

    def frames(self) -> Iterator[VideoFrame]:
        """Decoded frames in presentation order; audio packets are copied meanwhile.

        Raises :class:`VideoReadError` (with the frames decoded so far) on a decoding
        error or when fewer frames decode than the container declares (a truncated
        file).
        """
        import av

        info = self.info
        time_base = float(self._video.time_base or 0)
        last_seconds = 0.0
        try:
            for packet in self._input.demux(self._video, *self._audio):
                if packet.stream.type == "audio":
                    self._mux_audio(packet)
                    continue
                for frame in packet.decode():
                    if not self._rotation_set:
                        self._rotation_set = True
                        rotation = int(getattr(frame, "rotation", 0) or 0)
                        if rotation:
                            self._out_video.set_display_rotation(rotation)
                    rgb = frame.to_ndarray(format="rgb24")
                    luma = None
                    if frame.format.name in _Y_PLANE_FORMATS:
                        luma = _plane(frame.planes[0], frame.height, frame.width)
                    last_seconds = (frame.pts or 0) * time_base
                    yield VideoFrame(rgb, luma, frame.pts, self.frames_read, last_seconds)
                    self.frames_read += 1
        except av.error.FFmpegError as err:
            raise VideoReadError(self.src, _reason(err), self.frames_read, last_seconds) from None
        if self.frames_read == 0:
            raise VideoReadError(self.src, "no frame could be decoded")
        if info.frames and self.frames_read < info.frames:
            raise VideoReadError(
                self.src,
                f"truncated: {self.frames_read} of {info.frames} frames decoded",
                self.frames_read,
                last_seconds,
            )

    def write(self, rgb: np.ndarray, pts: int | None, luma: np.ndarray | None = None) -> None:
        """Encode one ``(H, W, 3)`` uint8 RGB frame at ``pts`` (the input's time stamp).

        ``luma``: an 8-bit ``(H, W)`` plane written as the output's Y plane exactly
        (needs a planar YUV ``pix_fmt``), e.g. the source's to keep its luminance."""
        import av

        frame: Any = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = frame.reformat(format=self.pix_fmt)
        if luma is not None:
            if not self.pix_fmt.startswith(("yuv", "gray")):
                raise ValueError(f"cannot keep the luminance with pix_fmt {self.pix_fmt}")
            plane = frame.planes[0]
            view = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
            view[: luma.shape[0], : luma.shape[1]] = luma  # PyAV planes are writable buffers
        frame.pts = pts if pts is not None else self.frames_written
        frame.time_base = self._video.time_base
        packets = self._out_video.encode(frame)
        if not self._header_ready:
            self._header_ready = True
            for pending in self._pending_audio:
                self._output.mux(pending)
            self._pending_audio.clear()
        for packet in packets:
            self._output.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and close both files (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._pending_audio.clear()  # only left when no frame was written
            if self.frames_written:
                for packet in self._out_video.encode(None):
                    self._output.mux(packet)
        finally:
            self._output.close()
            self._input.close()

    def __enter__(self) -> VideoTranscoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
