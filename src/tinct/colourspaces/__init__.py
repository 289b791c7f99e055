"""Colour spaces as classifier inputs (seed 000 chapter 5).

Seed 000 is the PhD thesis on deep learning and colour in ``shared/seeds/``. Its chapter 5
trains DenseNet-BC and MobileNet on CIFAR-10/100 with inputs in other colour spaces (LAB,
HSV, YUV, XYZ), with stacks of several (RGB+LAB+HSV+YUV = 12 channels), and with *hybrid*
colour spaces: the components a squeeze-and-excitation block on the input ranks highest.

* :mod:`~tinct.colourspaces.inputs`: colour components, hue treatment, standardisation
  fitted on the training split;
* :mod:`~tinct.colourspaces.model`: input adapter + colour attention + network, saved
  together;
* :mod:`~tinct.colourspaces.training`: the schedule of appendix B.0.2, recording and
  ranking the attention activations (§5.4);
* :mod:`~tinct.colourspaces.grid`: the resumable grid of tables 5.1-5.3 (``tinct
  colourspaces run CONFIG``), :mod:`~tinct.colourspaces.report`: its tables and plots.
"""

from __future__ import annotations

from tinct.colourspaces.inputs import ColourInput, Component, parse_components
from tinct.colourspaces.model import ColourSpaceClassifier, load_classifier, save_classifier

__all__ = [
    "ColourInput",
    "ColourSpaceClassifier",
    "Component",
    "load_classifier",
    "parse_components",
    "save_classifier",
]
