"""AHDR (Yan et al., CVPR 2019): attention-guided multi-frame HDR reconstruction.

The "original reconstruction model" (ORM) of the semantic-transfer framework
(:mod:`expokit.models.semantic`). Three LDR frames of a possibly dynamic scene, shortest
exposure first, the middle one the reference, go in; the HDR image aligned to the reference
comes out.

* **Inputs.** Each frame ``L_i`` (code values in [0, 1]) with exposure ``t_i`` relative to the
  shortest frame (``t_1 = 1``) becomes 6 channels ``[L_i, L_i ** 2.2 / t_i]`` (the frame and its
  gamma-linearised radiance estimate).
* **Attention.** A shared 3x3 convolution gives each frame ``features`` maps. For each
  non-reference frame, two 3x3 convolutions on its features concatenated with the
  reference's give a sigmoid attention map that multiplies its features (suppressing moving
  and saturated content before the merge).
* **Merging.** The three attended feature maps are concatenated and reduced to ``features``
  maps, then pass ``blocks`` dilated residual dense blocks (DRDB: ``layers`` 3x3 convolutions of
  dilation 2 and ``growth`` maps each, densely connected, a 1x1 fusion and a local residual).
  The blocks' outputs are concatenated, fused (1x1 then 3x3), added to the reference frame's
  features (global residual), and two more convolutions and a sigmoid give the HDR image in
  [0, 1], in the units of the shortest frame (1 = its saturation level).
* **Loss.** L1 between mu-law (mu = 5000) tonemapped output and ground truth
  (:func:`mu_law_torch`).

The paper's network is ``features=64, growth=32, layers=6, blocks=3`` (about 1.4 M
parameters); the weights shipped with expokit are narrower (see ``expokit models``).

The blocks' outputs (:meth:`AHDR.forward_features`) are the "fusion-block outputs" that the
semantic knowledge alignment module aligns with the teacher's features.

References:
    Q. Yan, D. Gong, Q. Shi, A. van den Hengel, C. Shen, I. Reid, Y. Zhang, "Attention-guided
    Network for Ghost-free High Dynamic Range Imaging", CVPR 2019.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from ..errors import InputError
from .zoo import Pretrained

__all__ = ["AHDR", "GAMMA", "MU", "ahdr_inputs", "mu_law_torch"]

#: Gamma that linearises the LDR frames in the network's input (as in Kalantari 2017 and AHDR).
GAMMA = 2.2
#: mu of the mu-law range compressor of the loss and of the metrics.
MU = 5000.0


def mu_law_torch(h: Tensor, mu: float = MU) -> Tensor:
    """``log(1 + mu * h) / log(1 + mu)`` of an HDR tensor in [0, 1] (Kalantari 2017, Eq. 2).

    >>> round(float(mu_law_torch(torch.tensor(1.0))), 6)
    1.0
    """
    return torch.log1p(mu * h.clamp_min(0.0)) / torch.log1p(torch.tensor(mu, dtype=h.dtype))


def ahdr_inputs(frames: Tensor, rel_times: Tensor) -> Tensor:
    """The network input ``(B, N, 6, H, W)`` from frames ``(B, N, 3, H, W)`` in [0, 1] and
    exposure times ``(B, N)`` relative to the shortest frame (``[1, 4, 16]`` for -2, 0, +2 EV).
    """
    lin = frames.clamp(0.0, 1.0) ** GAMMA / rel_times[:, :, None, None, None]
    return torch.cat([frames, lin], dim=2)


class _DRDB(nn.Module):
    """Dilated residual dense block: densely connected dilated 3x3 convs, 1x1 fusion, residual."""

    def __init__(self, channels: int, growth: int, layers: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(channels + i * growth, growth, 3, padding=2, dilation=2)
            for i in range(layers)
        )
        self.fuse = nn.Conv2d(channels + layers * growth, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        feats = x
        for conv in self.convs:
            feats = torch.cat([feats, torch.relu(conv(feats))], dim=1)
        return self.fuse(feats) + x


class AHDR(nn.Module, Pretrained):
    """Attention-guided HDR network for three frames (the middle one is the reference).

    Args:
        features: feature maps per layer (64 in the paper).
        growth: maps added by each dense layer of a DRDB (32 in the paper).
        layers: dense layers per DRDB (6 in the paper).
        blocks: DRDBs (3 in the paper).

    Shape:
        ``x``: ``(B, 3, 6, H, W)`` from :func:`ahdr_inputs`; output ``(B, 3, H, W)`` HDR in [0, 1]
        relative to the shortest frame's saturation.

    >>> net = AHDR()
    >>> sum(p.numel() for p in net.parameters())
    1441283
    >>> AHDR(features=8, growth=4, layers=2, blocks=1)(torch.rand(1, 3, 6, 16, 20)).shape
    torch.Size([1, 3, 16, 20])
    """

    #: The first is the default: trained with semantic knowledge transfer, it scores higher on
    #: the held-out benchmark (``benchmarks/quality_hdr.py``) at the same inference cost.
    PRETRAINED: ClassVar[dict[str, str]] = {"ahdr_skt": "ahdr_skt", "ahdr": "ahdr"}
    #: Frames the network takes; the middle one is the reference.
    FRAMES = 3

    def __init__(self, *, features: int = 64, growth: int = 32, layers: int = 6,
                 blocks: int = 3) -> None:
        super().__init__()
        for name, value in (("features", features), ("growth", growth), ("layers", layers),
                            ("blocks", blocks)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"AHDR {name} must be a whole number >= 1, got {value!r}")
        f = features
        self.conv1 = nn.Conv2d(6, f, 3, padding=1)
        self.att_low = nn.Sequential(nn.Conv2d(2 * f, 2 * f, 3, padding=1), nn.LeakyReLU(0.2),
                                     nn.Conv2d(2 * f, f, 3, padding=1), nn.Sigmoid())
        self.att_high = nn.Sequential(nn.Conv2d(2 * f, 2 * f, 3, padding=1), nn.LeakyReLU(0.2),
                                      nn.Conv2d(2 * f, f, 3, padding=1), nn.Sigmoid())
        self.conv2 = nn.Conv2d(3 * f, f, 3, padding=1)
        self.drdbs = nn.ModuleList(_DRDB(f, growth, layers) for _ in range(blocks))
        self.gff_1x1 = nn.Conv2d(blocks * f, f, 1)
        self.gff_3x3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv_up = nn.Conv2d(f, f, 3, padding=1)
        self.conv3 = nn.Conv2d(f, 3, 3, padding=1)
        #: Pixels of context on each side that one output pixel depends on.
        self.radius = 1 + 2 + 1 + blocks * layers * 2 + 1 + 1 + 1
        self.architecture = {"features": features, "growth": growth, "layers": layers,
                             "blocks": blocks}

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The HDR output and the DRDBs' outputs (``blocks`` maps of ``features`` channels)."""
        if x.ndim != 5 or x.shape[1] != self.FRAMES or x.shape[2] != 6:
            raise InputError(
                f"AHDR takes (B, 3, 6, H, W) inputs (three frames, see ahdr_inputs), got "
                f"{tuple(x.shape)}"
            )
        low, ref, high = (torch.relu(self.conv1(x[:, i])) for i in range(3))
        low = low * self.att_low(torch.cat([low, ref], dim=1))
        high = high * self.att_high(torch.cat([high, ref], dim=1))
        feat = self.conv2(torch.cat([low, ref, high], dim=1))
        outs = []
        for block in self.drdbs:
            feat = block(feat)
            outs.append(feat)
        fused = self.gff_3x3(self.gff_1x1(torch.cat(outs, dim=1))) + ref
        hdr = torch.sigmoid(self.conv3(self.conv_up(fused)))
        return hdr, outs

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_features(x)[0]
