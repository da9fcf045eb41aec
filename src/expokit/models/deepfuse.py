"""DeepFuse (Prabhakar, Srikar & Babu, ICCV 2017): unsupervised exposure fusion of the Y channel.

The network as the paper describes it (not the authors' released Theano model, a different
6-layer network of about 317K parameters):

* a feature extractor with weights tied across the exposures: C1 (16 filters, 5x5) and
  C2 (32 filters, 7x7), each convolution followed by a ReLU;
* fusion of the exposures' C2 feature maps by addition;
* reconstruction: C3 (32, 7x7) and C4 (16, 5x5) with ReLU, C5 (1, 5x5) linear, giving the fused
  Y channel.

Activation: ReLU after every layer but the last. The paper's exact wording on the activation
could not be checked when this was written (some re-implementations use LeakyReLU and add batch
normalisation, which the paper's layer list does not have); the output layer is linear so the
network can reach both ends of [0, 1], and the fused Y is clipped to [0, 1] at inference.

That is ``416 + 25120 + 50208 + 12816 + 401 = 88961`` parameters (about 89K, the paper's
figure). Every convolution keeps the image size ("same" output) with **reflect** padding
(zero padding darkens borders); the receptive field is ``5 + 7 + 7 + 5 + 5 - 4 = 25`` pixels,
so an output pixel depends on the input within 12 pixels of it.

More than two exposures: the paper fuses pairs. Here the N feature maps are summed and scaled
by ``2 / N``, which is exactly the paper's sum for N = 2, keeps the scale of the fused features
the same for any N, and makes the output independent of the order of the exposures. The
shipped weights were trained with N drawn from {2, 3} (``expokit.train.deepfuse``).

The colour channels are not part of the network: :func:`expokit.fusion.deepfuse.fuse_deepfuse`
fuses Cb/Cr with the paper's weighted average.

References:
    K. R. Prabhakar, V. S. Srikar and R. V. Babu, "DeepFuse: A Deep Unsupervised Approach for
    Exposure Fusion with Extreme Exposure Image Pairs", ICCV 2017, pp. 4714-4722 (section 3,
    figure 2).
"""

from __future__ import annotations

from typing import ClassVar

import torch  # noqa: F401  (used by the doctest)
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError
from .zoo import Pretrained

#: Context (pixels on each side) that one output pixel depends on: (25 - 1) / 2.
RECEPTIVE_RADIUS = 12


def _conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    if k < 1 or k % 2 == 0:
        raise InputError(f"kernel sizes must be odd integers >= 1, got {k}")
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, padding_mode="reflect")


class DeepFuse(nn.Module, Pretrained):
    """DeepFuse: tied-weight feature extraction, fusion by addition, reconstruction of Y.

    Args:
        c1: filters of C1 (feature extractor, tied across exposures).
        c2: filters of C2 (feature extractor, tied across exposures).
        c3: filters of C3 (reconstruction).
        c4: filters of C4 (reconstruction).
        k1: kernel size of C1; ``k2`` ... ``k5`` likewise (odd).
        k2: kernel size of C2.
        k3: kernel size of C3.
        k4: kernel size of C4.
        k5: kernel size of C5 (one output channel).

    Shape:
        ``y``: ``(B, N, 1, H, W)`` Y channels of N >= 2 exposures in [0, 1]; output
        ``(B, 1, H, W)``, the fused Y (not clipped; clip it to [0, 1] for display).
        Images smaller than the largest kernel cannot be reflect-padded: H, W >= 4.

    References:
        Prabhakar, Srikar & Babu, ICCV 2017 (section 3).

    >>> net = DeepFuse()
    >>> sum(p.numel() for p in net.parameters())
    88961
    >>> net(torch.rand(1, 3, 1, 32, 40)).shape
    torch.Size([1, 1, 32, 40])
    """

    PRETRAINED: ClassVar[dict[str, str]] = {"deepfuse": "deepfuse"}

    def __init__(self, *, c1: int = 16, c2: int = 32, c3: int = 32, c4: int = 16, k1: int = 5,
                 k2: int = 7, k3: int = 7, k4: int = 5, k5: int = 5) -> None:
        super().__init__()
        self.c1 = _conv(1, c1, k1)
        self.c2 = _conv(c1, c2, k2)
        self.c3 = _conv(c2, c3, k3)
        self.c4 = _conv(c3, c4, k4)
        self.c5 = _conv(c4, 1, k5)
        self.radius = (k1 + k2 + k3 + k4 + k5 - 5) // 2
        self.architecture = {"c1": c1, "c2": c2, "c3": c3, "c4": c4,
                             "k1": k1, "k2": k2, "k3": k3, "k4": k4, "k5": k5}

    def features(self, y: Tensor) -> Tensor:
        """C1 -> ReLU -> C2 -> ReLU of ``(M, 1, H, W)`` Y channels (the tied extractor)."""
        return F.relu(self.c2(F.relu(self.c1(y))))

    def reconstruct(self, fused_features: Tensor) -> Tensor:
        """C3 -> ReLU -> C4 -> ReLU -> C5 of fused ``(B, c2, H, W)`` features."""
        return self.c5(F.relu(self.c4(F.relu(self.c3(fused_features)))))

    def forward(self, y: Tensor) -> Tensor:
        if not isinstance(y, Tensor) or y.ndim != 5 or y.shape[2] != 1:
            shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise InputError(
                f"y has shape {shape}, expected (B, N, 1, H, W): the Y channels of N exposures "
                "stacked along dim 1"
            )
        b, n, _, h, w = y.shape
        if n < 2:
            raise InputError(f"y holds {n} exposure(s), expected at least 2 (dim 1)")
        feats = self.features(y.reshape(b * n, 1, h, w))
        fused = feats.view(b, n, *feats.shape[1:]).sum(dim=1)
        if n != 2:
            fused = fused * (2.0 / n)
        return self.reconstruct(fused)
