"""Evaluation: metrics of the seed documents (more arrive with the evaluation issue)."""

from __future__ import annotations

from tinct.eval.metrics import colourfulness, delta_e_cie76, delta_e_ciede2000, psnr

__all__ = ["colourfulness", "delta_e_cie76", "delta_e_ciede2000", "psnr"]
