"""Temporal stability of video colourisation: chroma carried along optical flow.

A per-frame colouriser predicts each frame independently, so the same wall or shirt
changes hue from frame to frame (flicker). :class:`ChromaStabiliser` keeps a running
state, the stabilised chroma of the previous frame at model resolution, and blends it
into each new prediction:

1. **Motion compensation.** Dense optical flow (DIS, Kroeger et al. 2016,
   ``cv2.DISOpticalFlow``) from the current frame's lightness to the previous
   one's; the previous chroma is warped along it (``cv2.remap``), so colour follows
   moving content instead of smearing across it.
2. **Confidence.** Where the warped previous lightness differs from the current one
   (occlusions, new content, failed flow, pixels flowing in from outside the frame),
   the past is not trusted: confidence ``exp(-(|dL| / error_scale)**2)``, 0 outside.
3. **Exponential moving average.** ``chroma = w * warped_past + (1 - w) * prediction``
   with ``w = memory * confidence``: a recursive EMA along motion trajectories, which
   damps frame-to-frame noise while still following the model within a few frames
   (memory 0.7 halves an old colour's weight every two frames).
4. **Scene cuts** reset the state, so colour never carries across a cut: the total
   variation distance of consecutive lightness histograms above ``cut_threshold``, or a
   mean confidence below ``min_confidence`` (nothing of the last frame is recognisable).

Why this method: it needs no training and no extra network (the bundled models are
per-image), costs one flow at model resolution (a few ms on a CPU, independent of the
video's resolution), and works causally in one pass over a stream, so memory stays
bounded. It is the "flow-guided temporal filtering" family of blind video consistency
(Lai et al. 2018 use the same warp + occlusion mask in their loss; Bonneel et al. 2015
filter along flow); the chroma-only EMA keeps the full-resolution lightness untouched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

#: Lightness histogram bins used for cut detection.
CUT_BINS = 32


def lightness_u8(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """The ``(height, width)`` 8-bit grey (Rec. 601 luma) of an ``(H, W, 3)`` uint8 RGB
    frame, area-resized: what flow and cut detection look at."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if grey.shape != (height, width):
        grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(grey)


def histogram_distance(a: np.ndarray, b: np.ndarray, bins: int = CUT_BINS) -> float:
    """Total variation distance (0 same, 1 disjoint) of two uint8 images' histograms."""
    ha = np.bincount((a.ravel() // (256 // bins)).astype(np.intp), minlength=bins) / a.size
    hb = np.bincount((b.ravel() // (256 // bins)).astype(np.intp), minlength=bins) / b.size
    return float(0.5 * np.abs(ha - hb).sum())


def farneback_flow(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """The same flow as :func:`flow_to_previous` by Farneback's method (2003): slower
    (5.5 ms at 256x144) but independent of the stabiliser, so the flicker metrics of
    :mod:`tinct.eval.video` do not judge the stabiliser with its own flow."""
    import cv2

    flow: np.ndarray = cv2.calcOpticalFlowFarneback(
        current, previous, None, 0.5, 3, 15, 3, 5, 1.2, 0
    )
    return flow


_DIS = threading.local()


def flow_to_previous(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Dense flow ``(H, W, 2)`` (x, y in pixels) such that ``current[y, x]`` is seen at
    ``previous[y + fy, x + fx]``, on 8-bit greys of one size.

    OpenCV's DIS flow (Kroeger et al. 2016, preset "fast"): at 256x144 it takes 0.5 ms
    against Farneback's 5.5 ms for the same mean error on a known shift, which is what
    let stabilised 480p video pass 25 frames/s (docs/results/video.md)."""
    import cv2

    dis = getattr(_DIS, "flow", None)
    if dis is None:  # one per thread: an OpenCV algorithm object is not thread-safe
        dis = _DIS.flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    height, width = current.shape[:2]
    flow: np.ndarray = dis.calc(current, previous, np.zeros((height, width, 2), np.float32))
    return flow


def warp(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` ``(H, W)`` or ``(H, W, C)`` sampled at ``grid + flow`` (bilinear), and
    the ``(H, W)`` bool mask of samples that fall inside the image."""
    import cv2

    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x = xs + flow[..., 0]
    map_y = ys + flow[..., 1]
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return warped, inside


@dataclass
class ChromaStabiliser:
    """Flow-guided exponential moving average of predicted chroma (see module doc).

    Args:
        memory: weight of the motion-compensated past where it is fully trusted (0: off).
        error_scale: grey-level difference (0..255) at which confidence falls to 1/e.
        cut_threshold: lightness-histogram distance (0..1) above which a cut is declared.
        min_confidence: mean confidence below which a cut is declared too.

    Call it once per frame, in order, with the frame's grey at model resolution and
    the predicted chroma ``(2, h, w)``; :meth:`reset` forgets the past. ``cuts`` counts
    the resets made by cut detection.
    """

    memory: float = 0.7
    error_scale: float = 10.0
    cut_threshold: float = 0.35
    min_confidence: float = 0.2
    cuts: int = 0
    _grey: np.ndarray | None = field(default=None, repr=False)
    _chroma: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.memory < 1.0:
            raise ValueError(f"memory must be in [0, 1), got {self.memory}")

    def reset(self) -> None:
        """Forget the previous frame (the next one is taken as predicted)."""
        self._grey = None
        self._chroma = None

    def __call__(self, grey: np.ndarray, chroma: Tensor) -> Tensor:
        """Stabilised chroma ``(2, h, w)`` (float32) for this frame."""
        current = chroma.detach().float().permute(1, 2, 0).contiguous().numpy()  # (h, w, 2)
        out = current
        if (
            self._grey is not None
            and self._chroma is not None
            and self._grey.shape == grey.shape
            and self.memory > 0
        ):
            if histogram_distance(self._grey, grey) > self.cut_threshold:
                self.cuts += 1
            else:
                flow = flow_to_previous(grey, self._grey)
                past_grey, inside = warp(self._grey, flow)
                error = np.abs(grey.astype(np.float32) - past_grey.astype(np.float32))
                confidence = np.exp(-np.square(error / self.error_scale)) * inside
                if float(confidence.mean()) < self.min_confidence:
                    self.cuts += 1
                else:
                    past, _ = warp(self._chroma, flow)
                    weight = (self.memory * confidence)[..., None].astype(np.float32)
                    out = weight * past + (1.0 - weight) * current
        self._grey = grey
        self._chroma = np.ascontiguousarray(out, dtype=np.float32)
        return torch.from_numpy(self._chroma).permute(2, 0, 1)
