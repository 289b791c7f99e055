"""Losses of segmentation-guided colourisation (seed 004 section 4.3): the per-class chroma
regression loss and the segmentation cross-entropy.

Masks are ``(B, H, W)`` int64 class indices with 255 = void (Pascal VOC's object borders
and unlabelled pixels); void pixels count in neither loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

VOID = 255

#: Name -> element-wise loss ``(prediction, target) -> per-element loss``.
ELEMENTWISE_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "l1": lambda p, t: (p - t).abs(),
    "l2": lambda p, t: (p - t).square(),
    "mse": lambda p, t: (p - t).square(),
    "smooth_l1": lambda p, t: F.smooth_l1_loss(p, t, reduction="none"),
}


def _check_mask(mask: Tensor, n_classes: int, size: tuple[int, int, int]) -> Tensor:
    """The mask as int64, checked: shape ``size`` and values in [0, n_classes) or void."""
    if tuple(mask.shape) != size:
        raise ValueError(f"mask must be (B, H, W) = {size}, got {tuple(mask.shape)}")
    mask = mask.long()
    bad = (mask != VOID) & ((mask < 0) | (mask >= n_classes))
    if bool(bad.any()):
        values = sorted({int(v) for v in mask[bad].unique()[:5]})
        raise ValueError(
            f"mask holds classes {values} but the model predicts {n_classes} classes "
            f"(0-{n_classes - 1}, 255 = void); set model.kwargs.n_classes to the data's"
        )
    return mask


def class_chroma_loss(
    class_chroma: Tensor,
    chroma: Tensor,
    mask: Tensor,
    *,
    all_classes: bool = False,
    kind: str = "l1",
) -> Tensor:
    """Per-class chroma regression loss (seed 004 section 4.3.1).

    Args:
        class_chroma: ``(B, 2K, H, W)`` predicted normalised chroma, class ``k``'s pair at
            channels ``2k, 2k + 1``.
        chroma: ``(B, 2, H, W)`` true normalised chroma.
        mask: ``(B, H, W)`` class indices in [0, K), 255 = void.
        all_classes: ``False`` (default): every class *present* in an image has its pair
            compared with the truth inside that class's mask, and nothing else counts --
            the fix seed 004 section 5.2.2 proposes. ``True``: the seed's own formulation,
            every class's pair compared at every labelled pixel with the truth inside that
            class's mask and 0 (grey) outside it, so absent classes are pulled to grey (the
            desaturation section 5.2.2 observes).
        kind: element-wise loss, ``l1`` (the seed's), ``l2``/``mse`` or ``smooth_l1``.

    Returns:
        The mean over the compared elements (labelled pixels x 2 channels, and x K classes
        with ``all_classes``): each labelled pixel counts once per compared pair. 0 (with
        a gradient) when every pixel is void.
    """
    if kind not in ELEMENTWISE_LOSSES:
        raise ValueError(f"unknown loss {kind!r}; choose one of {sorted(ELEMENTWISE_LOSSES)}")
    if class_chroma.ndim != 4 or class_chroma.shape[1] % 2:
        raise ValueError(
            f"class_chroma must be (B, 2 * n_classes, H, W), got {tuple(class_chroma.shape)}"
        )
    b, channels, h, w = class_chroma.shape
    k = channels // 2
    if tuple(chroma.shape) != (b, 2, h, w):
        raise ValueError(f"chroma must be (B, 2, H, W) = {(b, 2, h, w)}, got {tuple(chroma.shape)}")
    mask = _check_mask(mask, k, (b, h, w))
    elementwise = ELEMENTWISE_LOSSES[kind]
    pred = class_chroma.reshape(b, k, 2, h, w)
    classes = torch.arange(k, device=mask.device).view(1, k, 1, 1)
    member = (mask[:, None] == classes)[:, :, None].to(pred.dtype)  # (B, K, 1, H, W); void: 0
    truth = chroma[:, None].to(pred.dtype)  # (B, 1, 2, H, W)
    if all_classes:
        labelled = (mask != VOID)[:, None, None].to(pred.dtype)  # (B, 1, 1, H, W)
        err = elementwise(pred, truth * member) * labelled
        count = labelled.sum() * k * 2
    else:
        err = elementwise(pred, truth.expand_as(pred)) * member
        count = member.sum() * 2
    return err.sum() / count.clamp_min(1.0)


def segmentation_loss(logits: Tensor, mask: Tensor) -> Tensor:
    """Cross-entropy of class logits ``(B, K, H, W)`` against a mask ``(B, H, W)`` (255 =
    void, ignored); the mean over labelled pixels, 0 (with a gradient) when all are void."""
    if logits.ndim != 4:
        raise ValueError(f"logits must be (B, n_classes, H, W), got {tuple(logits.shape)}")
    b, k, h, w = logits.shape
    mask = _check_mask(mask, k, (b, h, w))
    if not bool((mask != VOID).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, mask, ignore_index=VOID)
