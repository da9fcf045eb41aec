"""The DBCNN network (PyTorch; imported only when used).

DBCNN (Zhang, Ma, Yan, Deng & Wang, IEEE TCSVT 30(1), 2020) describes an image with two
convolutional branches: the convolutional part of VGG-16 (ImageNet features, for authentic
distortions) without its last max-pooling layer, and S-CNN, a 9-layer network pre-trained to
classify synthetic distortion types and levels. Their last feature maps (512 and 128 channels,
the S-CNN map resized bilinearly to the VGG map if the sizes differ) are combined by bilinear
pooling (the spatial mean of the outer products, a 512 x 128 matrix), square-rooted elementwise,
L2-normalised, and mapped to a score by one linear layer (Sec. III-C, Eq. 1-3).

The module and parameter names follow ``pyiqa`` (IQA-PyTorch, C. Chen), so its released
``DBCNN_*.pth`` state dicts load strictly: ``features1`` (VGG-16 ``features[:30]``),
``features2`` (S-CNN's convolution/batch-norm/ReLU stack) and ``fc``. Inputs are RGB in [0, 1],
normalised with the ImageNet mean and standard deviation, at their full resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DBCNN", "IMAGENET_MEAN", "IMAGENET_STD", "SCNN_LAYOUT", "VGG16_LAYOUT"]

#: VGG-16's convolutional part (Simonyan & Zisserman 2015, configuration D): output channels of
#: each 3x3 convolution (padding 1, each followed by a ReLU), "M" = 2x2 max pooling, stride 2.
VGG16_LAYOUT: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip

#: S-CNN (DBCNN paper, Table I): (output channels, stride) of each 3x3 convolution (padding 1),
#: each followed by batch norm and a ReLU.
SCNN_LAYOUT: tuple[tuple[int, int], ...] = (
    (48, 1), (48, 2), (64, 1), (64, 2), (64, 1), (64, 2), (128, 1), (128, 1), (128, 2),
)  # fmt: skip

#: ImageNet statistics the inputs are normalised with (per RGB channel).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_features(drop_last_pool: bool = True) -> nn.Sequential:
    """VGG-16's convolutional layers, indexed as torchvision's ``vgg16().features``."""
    layers: list[nn.Module] = []
    in_ch = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, int(item), 3, padding=1), nn.ReLU(inplace=True)]
            in_ch = int(item)
    if drop_last_pool:
        layers.pop()
    return nn.Sequential(*layers)


def scnn_features() -> nn.Sequential:
    """S-CNN's convolution / batch norm / ReLU stack (its pooling and classifier are not used)."""
    layers: list[nn.Module] = []
    in_ch = 3
    for out_ch, stride in SCNN_LAYOUT:
        layers += [
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        ]
        in_ch = out_ch
    return nn.Sequential(*layers)


class DBCNN(nn.Module):
    """Deep bilinear CNN for blind image quality assessment (Zhang et al., TCSVT 2020).

    Shape:
        ``forward(x)``: ``(B, 3, H, W)`` RGB in [0, 1], H and W >= 16 -> ``(B,)`` scores.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.features1 = vgg16_features()
        self.features2 = scnn_features()
        self.fc = nn.Linear(512 * 128, 1)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)  # not in the checkpoints
        self.register_buffer("std", std, persistent=False)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised bilinear feature ``(B, 512 * 128)`` of ``(B, 3, H, W)`` in [0, 1]."""
        x = (x - self.mean) / self.std
        a = self.features1(x)
        s = self.features2(x)
        b, ca, h, w = a.shape
        if s.shape[-2:] != (h, w):
            s = F.interpolate(s, size=(h, w), mode="bilinear", align_corners=True)
        a = a.reshape(b, ca, h * w)
        s = s.reshape(b, s.shape[1], h * w)
        bilinear = torch.bmm(a, s.transpose(1, 2)).reshape(b, -1) / (h * w)
        # Both maps come out of a ReLU, so every entry is >= 0 and the signed square root of the
        # paper is the plain one; the 1e-8 keeps its gradient finite at 0.
        return F.normalize(torch.sqrt(bilinear + 1e-8), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.fc(self.pooled(x))[:, 0]
