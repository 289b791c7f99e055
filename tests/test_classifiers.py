"""32x32 DenseNet-BC and MobileNet v1 with any number of input channels, and the input
squeeze-and-excitation block (seed 000 appendix B.0.2 and section 5.4)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tinct.nn.classifiers import (
    DENSENET121_BLOCKS,
    MOBILENET_V1_LAYERS,
    DenseNetBC,
    InputSE,
    MobileNetV1,
)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def densenet_count(cin: int, classes: int, blocks=DENSENET121_BLOCKS, k=12, theta=0.5) -> int:
    """Huang et al.'s DenseNet-BC counted by hand: stem 3x3 conv + BN, bottleneck layers
    BN-1x1(4k)-BN-3x3(k), transitions BN-1x1(floor(θc)), final BN and linear layer."""
    c = 2 * k
    total = cin * c * 9 + 2 * c
    for i, layers in enumerate(blocks):
        for _ in range(layers):
            total += 2 * c + c * 4 * k + 2 * 4 * k + 4 * k * k * 9
            c += k
        if i < len(blocks) - 1:
            out = math.floor(theta * c)
            total += 2 * c + c * out
            c = out
    return total + 2 * c + c * classes + classes


def mobilenet_count(cin: int, classes: int) -> int:
    """MobileNet v1 counted by hand: 3x3 stem to 32 + BN, depthwise 3x3 + BN and pointwise
    1x1 + BN per layer, linear classifier on 1024 features."""
    c = 32
    total = cin * c * 9 + 2 * c
    for out, _ in MOBILENET_V1_LAYERS:
        total += c * 9 + 2 * c + c * out + 2 * out
        c = out
    return total + c * classes + classes


def test_documented_parameter_counts() -> None:
    # The numbers in the docstrings; MobileNet's 3,217,226 is also the count of the widely
    # used CIFAR MobileNet of kuangliu/pytorch-cifar (an independent implementation).
    assert n_params(DenseNetBC(3, 10)) == densenet_count(3, 10) == 1_000_666
    assert n_params(DenseNetBC(12, 100)) == densenet_count(12, 100) == 1_037_260
    assert n_params(MobileNetV1(3, 10)) == mobilenet_count(3, 10) == 3_217_226
    assert n_params(MobileNetV1(12, 100)) == mobilenet_count(12, 100) == 3_312_068
    assert n_params(DenseNetBC(3, 10, blocks=(16, 16, 16))) == densenet_count(
        3, 10, blocks=(16, 16, 16)
    )


@pytest.mark.parametrize("channels", [1, 3, 6, 9, 12])
@pytest.mark.parametrize("arch", [DenseNetBC, MobileNetV1])
def test_forward_backward_32px(arch: type[nn.Module], channels: int) -> None:
    torch.manual_seed(0)
    model = arch(channels, 10)
    x = torch.randn(2, channels, 32, 32, requires_grad=True)
    logits = model(x)
    assert logits.shape == (2, 10)
    logits.logsumexp(1).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    stem = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert stem.weight.grad is not None and torch.isfinite(stem.weight.grad).all()


def test_no_max_pool_and_final_resolution() -> None:
    dn, mb = DenseNetBC(3, 10), MobileNetV1(3, 10)
    assert not any(isinstance(m, nn.MaxPool2d) for m in dn.modules())
    x = torch.zeros(1, 3, 32, 32)
    assert dn.features.eval()(x).shape[-2:] == (4, 4)  # three transitions: 32 -> 4
    assert mb.features.eval()(x).shape[-2:] == (2, 2)  # four stride-2 layers: 32 -> 2


def test_xavier_initialisation() -> None:
    torch.manual_seed(0)
    model = DenseNetBC(3, 10, blocks=(2, 2))
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            fan_in = m.weight.shape[1] * m.weight[0, 0].numel()
            fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            assert m.weight.abs().max() <= bound
            assert m.weight.abs().max() > 0.8 * bound  # uniform fills the range
    assert torch.equal(model.classifier.bias, torch.zeros(10))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="in_channels"):
        DenseNetBC(0, 10)
    with pytest.raises(ValueError, match="compression"):
        DenseNetBC(3, 10, compression=0.0)
    with pytest.raises(ValueError, match="width"):
        MobileNetV1(3, 10, width=0)
    se = InputSE(4)
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        se(torch.zeros(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match="start_recording"):
        se.stop_recording()


def test_input_se_gates_and_recording() -> None:
    torch.manual_seed(0)
    se = InputSE(12)
    x = torch.randn(5, 12, 8, 8)
    s = se.gates(x)
    assert s.shape == (5, 12) and ((s > 0) & (s < 1)).all()
    # eq. 2.44 by hand: sigmoid(W2 relu(W1 z)).
    z = x.mean(dim=(2, 3))
    manual = torch.sigmoid(
        se.fc2.weight @ torch.relu(se.fc1.weight @ z.T + se.fc1.bias[:, None])
        + se.fc2.bias[:, None]
    ).T
    torch.testing.assert_close(s, manual)
    torch.testing.assert_close(se(x), x * s[:, :, None, None])
    se.start_recording()
    se(x[:2])
    se(x[2:])
    mean = se.stop_recording()
    assert mean.shape == (12,)
    torch.testing.assert_close(mean, s.double().mean(0))
