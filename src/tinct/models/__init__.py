"""Colourisation models: one registry for every family, typed outputs, decoding apart.

Importing this package imports every family module (classification, cvae, gan, guided,
hybrid, regression, segguided), whose ``@register_model`` decorators fill the registry
(:mod:`tinct.models.registry`, a leaf).
"""

from __future__ import annotations

from tinct.models.base import AUX_MAP_NAMES, Colouriser, ModelOutput
from tinct.models.classification import ClassificationColouriser, ZhangColouriser
from tinct.models.cvae import ConditionalVAE
from tinct.models.gan import GANColouriser
from tinct.models.guided import MultipathColouriser
from tinct.models.hub import BUNDLED, list_bundled, load_metadata, load_model, save_model
from tinct.models.hybrid import EfficientHybridColouriser
from tinct.models.registry import create_model, list_models, model_entry, register_model
from tinct.models.regression import EfficientUNetColouriser, UNetColouriser, YuvCNN, ZhangRegressor
from tinct.models.segguided import SegGuidedColouriser

__all__ = [
    "AUX_MAP_NAMES",
    "BUNDLED",
    "ClassificationColouriser",
    "Colouriser",
    "ConditionalVAE",
    "EfficientHybridColouriser",
    "EfficientUNetColouriser",
    "GANColouriser",
    "ModelOutput",
    "MultipathColouriser",
    "SegGuidedColouriser",
    "UNetColouriser",
    "YuvCNN",
    "ZhangColouriser",
    "ZhangRegressor",
    "create_model",
    "list_bundled",
    "list_models",
    "load_metadata",
    "load_model",
    "model_entry",
    "register_model",
    "save_model",
]
