"""Learning from colour: self-supervised pretext methods, linear probes and fine-tuning
(seed 000 chapter 3; seed 003 section 8).

* :mod:`~tinct.ssl.methods`: cross-channel and split-brain autoencoders, SimCLR,
  contrasting L and ab, and the combined colourisation + contrastive method;
* :mod:`~tinct.ssl.pretrain`: ``tinct ssl pretrain`` on the training runner's machinery;
* :mod:`~tinct.ssl.probe`: frozen features -> logistic regression (STL-10 folds or
  cross-validation); :mod:`~tinct.ssl.finetune`: top layers, differential learning
  rates, the first k blocks frozen;
* :mod:`~tinct.ssl.encoders`: what an evaluation starts from (a pretext backbone,
  random init, ImageNet EfficientNet-Lite0, a colouriser's encoder).

Import the submodules; this package imports nothing heavy itself.
"""
