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

More than two exposures: the paper fuses pairs by adding the two feature maps. Two merges of N
maps are offered, both independent of the order of the exposures and exactly the paper's sum
for N = 2 when untrained:

* ``merge="mean"``: the N maps are summed and scaled by ``2 / N`` (a fixed rule);
* ``merge="softmax"`` (learned): ``2 * sum_k softmax_k(s(f_k)) * f_k``, where ``s`` is a 1x1
  convolution (``c2 * c2 + c2`` parameters) giving every exposure, pixel and channel a score,
  and the softmax runs over the exposures. It starts at zero, where it equals ``"mean"``, so it
  can be fine-tuned from weights trained with ``"mean"``; it learns which exposure's features
  to keep where (a well-exposed one's rather than the average of 16), for any N.

Shipped weights: ``"deepfuse"`` (the default) has the ``"softmax"`` merge, fine-tuned from
``"deepfuse_3k"`` (the ``"mean"`` merge, 3000 steps from scratch); see
``configs/deepfuse.toml`` and ``configs/deepfuse_3k.toml``.

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

#: Feature merges of N exposures (see the module text).
MERGES = ("mean", "softmax")

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
        merge: how the exposures' C2 features are fused: ``"mean"`` (sum times 2/N) or
            ``"softmax"`` (learned per-pixel weights over the exposures); see the module text.

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

    PRETRAINED: ClassVar[dict[str, str]] = {"deepfuse": "deepfuse", "deepfuse_3k": "deepfuse_3k"}

    def __init__(self, *, c1: int = 16, c2: int = 32, c3: int = 32, c4: int = 16, k1: int = 5,
                 k2: int = 7, k3: int = 7, k4: int = 5, k5: int = 5,
                 merge: str = "mean") -> None:
        super().__init__()
        if merge not in MERGES:
            raise InputError(f"merge must be one of {', '.join(MERGES)}, got {merge!r}")
        self.c1 = _conv(1, c1, k1)
        self.c2 = _conv(c1, c2, k2)
        self.c3 = _conv(c2, c3, k3)
        self.c4 = _conv(c3, c4, k4)
        self.c5 = _conv(c4, 1, k5)
        self.merge = merge
        if merge == "softmax":
            self.score = nn.Conv2d(c2, c2, 1)
            nn.init.zeros_(self.score.weight)
            nn.init.zeros_(self.score.bias)
        self.radius = (k1 + k2 + k3 + k4 + k5 - 5) // 2
        self.architecture = {"c1": c1, "c2": c2, "c3": c3, "c4": c4,
                             "k1": k1, "k2": k2, "k3": k3, "k4": k4, "k5": k5}
        if merge != "mean":  # records of weights trained before merges existed lack the key
            self.architecture["merge"] = merge

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
        if self.merge == "softmax":
            weights = torch.softmax(self.score(feats).view(b, n, *feats.shape[1:]), dim=1)
            fused = 2.0 * (weights * feats.view(b, n, *feats.shape[1:])).sum(dim=1)
            return self.reconstruct(fused)
        fused = feats.view(b, n, *feats.shape[1:]).sum(dim=1)
        if n != 2:
            fused = fused * (2.0 / n)
        return self.reconstruct(fused)


class FeatureMerge:
    """The exposures' features merged one exposure at a time (tiled inference, any N).

    ``add(f)`` takes one exposure's ``(1, c2, h, w)`` C2 features; ``result()`` is what
    :meth:`DeepFuse.forward` fuses from all of them. For ``"softmax"`` the softmax over the
    exposures is accumulated online (running maximum of the scores, rescaled sums), so memory
    holds three feature maps whatever N.
    """

    def __init__(self, model: DeepFuse) -> None:
        self.model = model
        self.n = 0
        self.acc: Tensor | None = None
        self.norm: Tensor | None = None
        self.peak: Tensor | None = None

    def add(self, feats: Tensor) -> None:
        self.n += 1
        if self.model.merge == "mean":
            self.acc = feats if self.acc is None else self.acc.add_(feats)
            return
        z = self.model.score(feats)
        if self.peak is None:
            self.peak, self.norm, self.acc = z, torch.ones_like(z), feats
            return
        peak = torch.maximum(self.peak, z)
        old = self.peak.sub_(peak).exp_()  # in place: the maps are tile-sized, N of them
        new = z.sub_(peak).exp_()
        self.norm.mul_(old).add_(new)
        self.acc.mul_(old).addcmul_(new, feats)
        self.peak = peak

    def result(self) -> Tensor:
        if self.acc is None:
            raise InputError("no exposure was added to the merge")
        if self.model.merge == "softmax":
            return self.acc * (2.0 / self.norm)
        return self.acc if self.n == 2 else self.acc * (2.0 / self.n)
