"""Training objectives, one per model family, looked up by family name.

An objective owns what is particular to a family: its loss terms, how targets are
prepared (e.g. chroma downsampled to the output's size), what is logged, anything to set
up from the data before training (a classification model's rebalancing weights) and,
for schemes with several optimisers, the training step itself. A new family is one new
module here plus one :func:`register_objective` entry; the Lightning module
(:class:`tinct.train.module.ColourisationModule`) and the runner stay as they are.
"""

from __future__ import annotations

from tinct.train.objectives.adversarial import (
    GENERATOR_TERMS,
    AdversarialObjective,
    register_generator_term,
)
from tinct.train.objectives.base import (
    OBJECTIVES,
    Objective,
    downsample_ab,
    objective_for,
    register_objective,
)
from tinct.train.objectives.classification import ClassificationObjective
from tinct.train.objectives.cvae import CVAEObjective
from tinct.train.objectives.guided import MAP_TERMS, GuidedAdversarialObjective
from tinct.train.objectives.hybrid import HybridObjective
from tinct.train.objectives.regression import RegressionObjective
from tinct.train.objectives.segguided import SegmentationGuidedObjective

__all__ = [
    "GENERATOR_TERMS",
    "MAP_TERMS",
    "OBJECTIVES",
    "AdversarialObjective",
    "CVAEObjective",
    "ClassificationObjective",
    "GuidedAdversarialObjective",
    "HybridObjective",
    "Objective",
    "RegressionObjective",
    "SegmentationGuidedObjective",
    "downsample_ab",
    "objective_for",
    "register_generator_term",
    "register_objective",
]
