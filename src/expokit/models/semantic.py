"""Semantic knowledge transfer for learned HDR (Yan, Hu, Chen, Dong, Zhang): the training-time
teacher and its parts. At inference only the student, the ORM (:class:`~expokit.models.ahdr.AHDR`),
runs; nothing here is needed to merge a bracket.

* **Semantic knowledge bank** (SKB, :class:`SemanticPrior`): a frozen model that maps a mu-law
  tonemapped image ``(B, 3, H, W)`` in [0, 1] to a feature pyramid (strides 2, 4, 8, 16) and
  soft segment masks ``(B, S, H, W)``. Two implementations:

  - :class:`ClassicalPrior` (default, offline, nothing to download or license): SLIC
    superpixels (scikit-image) for the masks, and a fixed, training-free multi-scale descriptor
    for the features: at each stride the average-pooled image, its grey-level gradients,
    gradient magnitude and Laplacian, and the image with each superpixel replaced by its mean
    colour (the region-level, "semantic" part).
  - :class:`TorchScriptPrior`: any TorchScript segmentation backbone from a user-given file
    (e.g. FastSAM wrapped to this contract, see ``docs/hdr_learned.md``).

* **SPGRM** (:class:`SPGRM`): an FPN over the prior's pyramid and three semantic-guided fusion
  modules, each a residual convolution block followed by a Prior Fusion Block whose transposed
  (channel) attention takes its query from the prior and key/value from the SPGRM's features
  with a learnable temperature (the paper's Eq. 4). It refines the ORM's tonemapped output.
* **SKAM** (:class:`SKAM`): per alignment stage, two encoders map the ORM's and SPGRM's
  features into one latent space, complementary random binary masks mix them, and a decoder maps
  the mix back to the teacher's feature space (Eqs. 11-12).
* **Losses**: :func:`soft_histograms` and :func:`semantic_color_loss` (Eqs. 6-10) and
  :func:`content_loss` (Eq. 5) with :class:`VGG19Features` from a user-given file or the fixed
  descriptor of :class:`ClassicalPrior` as the perceptual feature.

Decisions where the paper is silent are in ``docs/hdr_learned.md``.

References:
    Q. Yan, T. Hu, G. Chen, W. Dong, Y. Zhang, "Boosting HDR Image Reconstruction via Semantic
    Knowledge Transfer". S. W. Zamir et al., "Restormer", CVPR 2022 (transposed attention).
    R. Achanta et al., "SLIC superpixels", TPAMI 34(11), 2012.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError, MissingResourceError

__all__ = [
    "PRIOR_STRIDES",
    "SKAM",
    "SPGRM",
    "ClassicalPrior",
    "SemanticPrior",
    "TorchScriptPrior",
    "VGG19Features",
    "content_loss",
    "fixed_descriptor",
    "semantic_color_loss",
    "soft_histograms",
]

#: Strides of the prior's feature pyramid (the paper: H / 2^(4-i), i = 0..3, finest last;
#: here finest first).
PRIOR_STRIDES = (2, 4, 8, 16)


class SemanticPrior(Protocol):
    """A frozen semantic knowledge bank: ``prior(x) -> (features, masks)``.

    ``x``: ``(B, 3, H, W)`` mu-law image in [0, 1], H and W multiples of 16. ``features``: four
    tensors ``(B, C_i, H / s, W / s)`` for ``s`` in :data:`PRIOR_STRIDES`; ``masks``:
    ``(B, S, H, W)`` in [0, 1], one channel per segment (all-zero channels pad a batch).
    ``channels``: the four ``C_i``.
    """

    channels: tuple[int, ...]

    def __call__(self, x: Tensor) -> tuple[list[Tensor], Tensor]: ...


# ---------------------------------------------------------------------------------------------
# Classical prior: SLIC masks and a fixed multi-scale descriptor
# ---------------------------------------------------------------------------------------------
_GREY = (0.2126, 0.7152, 0.0722)


def _filter_bank(device: torch.device, dtype: torch.dtype) -> Tensor:
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    laplace = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]) / 4.0
    return torch.stack([sobel_x, sobel_x.T, laplace])[:, None].to(device, dtype)


def fixed_descriptor(x: Tensor) -> list[Tensor]:
    """The training-free multi-scale descriptor of an image ``(B, 3, H, W)``: per stride of
    :data:`PRIOR_STRIDES`, the average-pooled colours (3), the grey level's x/y gradients,
    their magnitude and the Laplacian (4): 7 channels. Differentiable (fixed filters).

    >>> [tuple(f.shape) for f in fixed_descriptor(torch.rand(1, 3, 32, 32))]
    [(1, 7, 16, 16), (1, 7, 8, 8), (1, 7, 4, 4), (1, 7, 2, 2)]
    """
    bank = _filter_bank(x.device, x.dtype)
    w = torch.tensor(_GREY, device=x.device, dtype=x.dtype)[None, :, None, None]
    out = []
    for s in PRIOR_STRIDES:
        pooled = F.avg_pool2d(x, s)
        grey = (pooled * w).sum(1, keepdim=True)
        resp = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), bank)
        mag = torch.sqrt(resp[:, :2].pow(2).sum(1, keepdim=True) + 1e-8)
        # Gradients of coarse levels are smaller per pixel; scale them back to unit range.
        out.append(torch.cat([pooled, resp[:, :2] * 4, mag * 4, resp[:, 2:] * 4], dim=1))
    return out


def slic_masks(x: Tensor, segments: int, compactness: float = 10.0) -> Tensor:
    """One-hot SLIC superpixel masks ``(B, segments, H, W)`` of images ``(B, 3, H, W)`` in [0, 1].

    SLIC may return a few more or fewer regions than asked; the ``segments`` largest are kept
    (fewer leave all-zero masks) and the pixels of any others join the largest region's mask,
    so the masks always cover the image.
    """
    from skimage.segmentation import slic

    imgs = x.detach().permute(0, 2, 3, 1).to(torch.float64).cpu().numpy()
    b, h, w = imgs.shape[:3]
    out = np.zeros((b, segments, h, w), np.float32)
    for i in range(b):
        labels = slic(imgs[i], n_segments=segments, compactness=compactness, start_label=0,
                      channel_axis=-1, convert2lab=True)
        ids, counts = np.unique(labels, return_counts=True)
        order = ids[np.argsort(-counts, kind="stable")]
        keep = order[:segments]
        remap = np.full(int(labels.max()) + 1, 0, np.int64)
        remap[keep] = np.arange(keep.size)
        for j in range(keep.size):  # labels beyond the kept ones map to 0 (the largest)
            out[i, j] = remap[labels] == j
    return torch.from_numpy(out).to(x.device, x.dtype)


class ClassicalPrior:
    """The default semantic prior: SLIC masks and :func:`fixed_descriptor` plus the image with
    each superpixel replaced by its mean colour, pooled to each stride (10 channels per level).

    Args:
        segments: superpixels per image (SLIC's ``n_segments``).
        compactness: SLIC's colour/space trade-off.

    >>> feats, masks = ClassicalPrior(segments=4)(torch.rand(2, 3, 32, 32))
    >>> [f.shape[1] for f in feats], tuple(masks.shape)
    ([10, 10, 10, 10], (2, 4, 32, 32))
    """

    channels = (10, 10, 10, 10)

    def __init__(self, segments: int = 16, compactness: float = 10.0) -> None:
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise InputError(f"segments must be a whole number >= 1, got {segments!r}")
        self.segments = segments
        self.compactness = float(compactness)

    @torch.no_grad()
    def __call__(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        _check_prior_input(x)
        masks = slic_masks(x, self.segments, self.compactness)
        area = masks.sum(dim=(2, 3)).clamp_min(1.0)
        means = torch.einsum("bshw,bchw->bsc", masks, x) / area[:, :, None]
        regions = torch.einsum("bshw,bsc->bchw", masks, means)
        feats = [torch.cat([d, F.avg_pool2d(regions, s)], dim=1)
                 for d, s in zip(fixed_descriptor(x), PRIOR_STRIDES, strict=True)]
        return feats, masks


def _check_prior_input(x: Tensor) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"the semantic prior takes (B, 3, H, W) images, got {tuple(x.shape)}")
    if x.shape[2] % 16 or x.shape[3] % 16:
        raise InputError(
            f"the semantic prior needs H and W that are multiples of 16 (its coarsest stride), "
            f"got {x.shape[2]}x{x.shape[3]}; crop or pad the image"
        )


class TorchScriptPrior:
    """A semantic prior from a user's TorchScript file or ``torch.export`` archive (``.pt2``,
    saved with dynamic batch, height and width), e.g. FastSAM wrapped to the contract.

    The scripted module takes ``(B, 3, H, W)`` float in [0, 1] and returns a tuple
    ``(features, masks)``: a list of four tensors at strides 2, 4, 8, 16 and masks
    ``(B, S, H, W)`` in [0, 1] (probabilities or one-hot). It runs frozen, in ``eval()`` mode,
    under ``torch.no_grad()``; its output is checked on the first call.

    Args:
        path: the ``.pt`` / ``.ts`` TorchScript file (``torch.jit.save``) or a ``.pt2``
            ``torch.export.save`` archive.
        device: where to run it.

    Raises:
        MissingResourceError: the file does not exist.
        InputError: the file is not TorchScript (e.g. an ultralytics pickle, which needs its
            package and is not loaded here), or its output breaks the contract.
    """

    def __init__(self, path: str | os.PathLike[str], device: str | torch.device = "cpu") -> None:
        p = Path(path)
        if not p.is_file():
            raise MissingResourceError(
                f"semantic prior checkpoint {p} does not exist: give the path of a TorchScript "
                "segmentation backbone (see docs/hdr_learned.md), or use the default "
                "prior = \"classical\", which needs no file"
            )
        if p.suffix == ".pt2":
            # torch.export archive (TorchScript is deprecated from torch 2.13 on): export the
            # backbone with dynamic batch, height and width (torch.export.Dim.AUTO).
            try:
                module = torch.export.load(str(p)).module().to(device)
            except Exception as exc:  # noqa: BLE001 - any load failure: not an export archive
                raise InputError(
                    f"{p} is not a torch.export archive ({type(exc).__name__}); save the "
                    "backbone with torch.export.save (docs/hdr_learned.md)") from None
        else:
            try:
                module = torch.jit.load(str(p), map_location=device)
            except Exception as exc:  # noqa: BLE001 - any load failure means: not TorchScript
                raise InputError(
                    f"{p} is not a TorchScript file ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}); export the backbone "
                    "with torch.jit.script/trace, or torch.export.save to a .pt2 file, to the "
                    "contract in docs/hdr_learned.md (a FastSAM .pt checkpoint is an "
                    "ultralytics pickle and must be wrapped first)"
                ) from None
        if p.suffix != ".pt2":  # an exported program has no train/eval switch (it is frozen)
            module = module.eval()
        self.module = module
        self.device = torch.device(device)
        for q in self.module.parameters():
            q.requires_grad_(False)
        self.path = p
        self.channels: tuple[int, ...] = ()

    @torch.no_grad()
    def __call__(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        _check_prior_input(x)
        if x.device != self.device:  # follow the training's device (e.g. CUDA)
            self.module = self.module.to(x.device)
            self.device = x.device
        out = self.module(x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise InputError(f"the TorchScript prior {self.path} must return (features, masks), "
                             f"got {type(out).__name__}")
        feats, masks = list(out[0]), out[1]
        h, w = x.shape[2:]
        if len(feats) != len(PRIOR_STRIDES) or any(
                f.ndim != 4 or tuple(f.shape[2:]) != (h // s, w // s)
                for f, s in zip(feats, PRIOR_STRIDES, strict=True)):
            raise InputError(
                f"the TorchScript prior {self.path} must return four feature maps at strides "
                f"{PRIOR_STRIDES} of the {h}x{w} input, got "
                f"{[tuple(f.shape) for f in feats]}")
        if masks.ndim != 4 or tuple(masks.shape[2:]) != (h, w):
            raise InputError(f"the TorchScript prior {self.path} must return masks (B, S, {h}, "
                             f"{w}), got {tuple(masks.shape)}")
        self.channels = tuple(int(f.shape[1]) for f in feats)
        return feats, masks.clamp(0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# SPGRM
# ---------------------------------------------------------------------------------------------
class FPN(nn.Module):
    """Feature pyramid network: lateral 1x1 convolutions, top-down upsampling and addition,
    a 3x3 output convolution at stride 2, then bilinear upsampling to the full resolution."""

    def __init__(self, in_channels: Sequence[int], channels: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.out = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, feats: Sequence[Tensor], size: tuple[int, int]) -> Tensor:
        top = self.lateral[-1](feats[-1])
        for lat, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1]), strict=True):
            top = lat(f) + F.interpolate(top, size=f.shape[2:], mode="bilinear",
                                         align_corners=False)
        return F.interpolate(self.out(top), size=size, mode="bilinear", align_corners=False)


class PriorFusionBlock(nn.Module):
    """Eq. 4: ``F + W_c V softmax(K Q / gamma)``: Q from the prior, K and V from the features
    (1x1 then depth-wise 3x3 convolutions), attention across channels (transposed attention,
    L2-normalised over pixels) per head, learnable temperature per head."""

    def __init__(self, channels: int, heads: int = 2) -> None:
        super().__init__()
        if channels % heads:
            raise InputError(f"channels ({channels}) must be a multiple of heads ({heads})")
        self.heads = heads
        self.q = nn.Sequential(nn.Conv2d(channels, channels, 1),
                               nn.Conv2d(channels, channels, 3, padding=1, groups=channels))
        self.kv = nn.Sequential(nn.Conv2d(channels, 2 * channels, 1),
                                nn.Conv2d(2 * channels, 2 * channels, 3, padding=1,
                                          groups=2 * channels))
        self.proj = nn.Conv2d(channels, channels, 1)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))

    def forward(self, feat: Tensor, prior: Tensor) -> Tensor:
        b, c, h, w = feat.shape
        q = self.q(prior).reshape(b, self.heads, c // self.heads, h * w)
        k, v = self.kv(feat).reshape(b, 2, self.heads, c // self.heads, h * w).unbind(1)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = torch.softmax(k @ q.transpose(-2, -1) * self.temperature, dim=-1)
        out = (attn @ v).reshape(b, c, h, w)
        return feat + self.proj(out)


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SPGRM(nn.Module):
    """Semantic-prior-guided refinement model: refines the ORM's mu-law output with the prior.

    Args:
        prior_channels: channels of the prior's four levels (``None``: no prior; the fusion
            modules are then plain residual blocks, the "without prior" ablation).
        channels: feature width (the same as the ORM's features, so SKAM's stages line up).
        modules: semantic-guided fusion modules (3 in the paper).

    Shape:
        ``hs``: ``(B, 3, H, W)`` mu-law image; returns the refined image and the modules'
        outputs (the teacher features of SKAM).
    """

    def __init__(self, prior_channels: Sequence[int] | None, channels: int = 16,
                 modules: int = 3) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.ModuleList(_ResBlock(channels) for _ in range(modules))
        self.fpn = FPN(prior_channels, channels) if prior_channels is not None else None
        self.pfbs = (nn.ModuleList(PriorFusionBlock(channels) for _ in range(modules))
                     if prior_channels is not None else None)
        self.conv_out = nn.Conv2d(channels, 3, 3, padding=1)
        # Zero output layer: the teacher starts as the identity (its input, the ORM's image),
        # so the transfer losses start at 0 instead of pulling towards a random image.
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, hs: Tensor, prior: Sequence[Tensor] | None) -> tuple[Tensor, list[Tensor]]:
        feat = self.conv_in(hs)
        pf = None
        if self.fpn is not None:
            if prior is None:
                raise InputError("this SPGRM was built with a prior; pass its features")
            pf = self.fpn(prior, (hs.shape[2], hs.shape[3]))
        outs = []
        for i, block in enumerate(self.blocks):
            feat = block(feat)
            if self.pfbs is not None and pf is not None:
                feat = self.pfbs[i](feat, pf)
            outs.append(feat)
        return hs + self.conv_out(feat), outs


# ---------------------------------------------------------------------------------------------
# SKAM
# ---------------------------------------------------------------------------------------------
def _enc(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.2),
                         nn.Conv2d(c_out, c_out, 3, padding=1))


class SKAM(nn.Module):
    """Semantic knowledge alignment: masked mixing of student and teacher features (Eq. 11)
    and the MSE of the decoded mix to the teacher's features (Eq. 12), averaged over stages.

    Args:
        student_channels: channels of the ORM's features at each stage.
        teacher_channels: channels of the SPGRM's features at each stage.
        latent: channels of the shared latent space.
        mask_ratio: probability that a latent element is taken from the teacher (the masks
            ``I^M`` and ``1 - I^M`` are complementary, element-wise over C x H x W).
    """

    def __init__(self, student_channels: Sequence[int], teacher_channels: Sequence[int],
                 latent: int = 16, mask_ratio: float = 0.5) -> None:
        super().__init__()
        if len(student_channels) != len(teacher_channels):
            raise InputError("SKAM needs as many student as teacher stages")
        if not 0.0 <= mask_ratio <= 1.0:
            raise InputError(f"mask_ratio must be in [0, 1], got {mask_ratio!r}")
        self.enc_s = nn.ModuleList(_enc(c, latent) for c in student_channels)
        self.enc_t = nn.ModuleList(_enc(c, latent) for c in teacher_channels)
        self.dec = nn.ModuleList(_enc(latent, c) for c in teacher_channels)
        self.mask_ratio = float(mask_ratio)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        losses = []
        for k, (fs, ft) in enumerate(zip(student, teacher, strict=True)):
            zs, zt = self.enc_s[k](fs), self.enc_t[k](ft)
            mask = (torch.rand_like(zs) < self.mask_ratio).to(zs.dtype)
            fe = self.dec[k](zs * (1.0 - mask) + zt * mask)
            losses.append(F.mse_loss(fe, ft))
        return torch.stack(losses).mean()


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------
#: Histogram bins (the paper does not give N).
HIST_BINS = 32
#: Kernel bandwidth: the paper's sigma = 400, read literally on 0-255 values
#: (docs/hdr_learned.md): a kernel far wider than the range, so each segment's histogram is a
#: smooth function of its first two moments and L_color pulls per-segment colour statistics,
#: not individual bins.
HIST_SIGMA = 400.0
#: Pixel values are scaled to this range before the kernel (the paper's 0-255).
HIST_RANGE = 255.0


def soft_histograms(x: Tensor, masks: Tensor, *, bins: int = HIST_BINS,
                    sigma: float = HIST_SIGMA) -> Tensor:
    """Differentiable per-segment colour histograms (Eqs. 6-8): ``(B, S, C, bins)``.

    Values ``x`` in [0, 1] are scaled to 0-255; bin centres ``min + (max - min)(i + 0.5) / N``
    with ``min, max = 0, 255`` (Eq. 6); kernel ``exp(-(x - c_i)^2 / sigma^2)`` (Eq. 7); the
    kernel values are weighted by the segment mask and summed over pixels (Eq. 8), then divided
    by the segment's area so that the histogram does not depend on the segment's size.

    >>> h = soft_histograms(torch.full((1, 3, 4, 4), 10.5 / 32), torch.ones(1, 1, 4, 4))
    >>> tuple(h.shape), int(h[0, 0, 0].argmax()), round(float(h[0, 0, 0].max()), 4)
    ((1, 1, 3, 32), 10, 1.0)
    """
    b, c, h, w = x.shape
    centres = HIST_RANGE * (torch.arange(bins, device=x.device, dtype=x.dtype) + 0.5) / bins
    k = torch.exp(-((HIST_RANGE * x.reshape(b, c, h * w, 1) - centres) ** 2) / (sigma * sigma))
    m = masks.reshape(b, -1, h * w)
    area = m.sum(-1).clamp_min(1e-6)[:, :, None, None]
    return torch.einsum("bcpn,bsp->bscn", k, m) / area


def semantic_color_loss(student: Tensor, teacher: Tensor, masks: Tensor) -> Tensor:
    """Eq. 10: the mean over non-empty segments of Eq. 9's histogram MSE between the student's
    and the teacher's images, averaged over bins and channels (Eq. 9 sums over the bins; the
    mean divides it by ``bins``, a normalisation choice explained in docs/hdr_learned.md)."""
    hs = soft_histograms(student, masks)
    ht = soft_histograms(teacher, masks)
    per_seg = ((hs - ht) ** 2).mean(-1).mean(-1)  # (B, S)
    present = (masks.sum(dim=(2, 3)) > 0).to(per_seg.dtype)
    return (per_seg * present).sum() / present.sum().clamp_min(1.0)


# VGG19's convolution layers ("E" configuration); written out because torchvision does not
# install beside torch 2.13 on these machines, and only the layer shapes are needed to load a
# torchvision-format state dict ("features.<index>.weight").
_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """VGG19 up to ``conv5_4`` (before its ReLU: phi_{5,4}, as in SRGAN/ESRGAN), frozen, from a
    user-given torchvision-format state dict (``vgg19-*.pth``; a ``features.``-prefixed dict or
    a whole-model dict). Input ``(B, 3, H, W)`` in [0, 1] is ImageNet-normalised.

    Raises:
        MissingResourceError: the file does not exist.
        InputError: the file is not a VGG19 state dict.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        p = Path(path)
        if not p.is_file():
            raise MissingResourceError(
                f"VGG19 weights {p} do not exist: give a local torchvision-format vgg19 .pth "
                "file, or leave vgg_path empty to use the documented substitute (the fixed "
                "multi-scale descriptor)")
        layers: list[nn.Module] = []
        c_in = 3
        for v in _VGG19:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.ReLU()]
                c_in = int(v)
        self.features = nn.Sequential(*layers[:-1])  # stop before conv5_4's ReLU
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure: not a state dict
            raise InputError(f"{p} is not a PyTorch state dict ({type(exc).__name__})") from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise InputError(f"{p} is not a VGG19 state dict (it holds a "
                             f"{type(state).__name__})")
        feats = {k[len("features."):]: v for k, v in dict(state).items()
                 if k.startswith("features.")}
        try:
            self.features.load_state_dict(feats, strict=True)
        except RuntimeError as exc:
            raise InputError(f"{p} is not a VGG19 state dict ({str(exc).splitlines()[0]})"
                             ) from None
        for q in self.parameters():
            q.requires_grad_(False)
        self.eval()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN)[None, :, None, None])
        self.register_buffer("std", torch.tensor(_IMAGENET_STD)[None, :, None, None])

    def forward(self, x: Tensor) -> Tensor:
        return self.features((x - self.mean) / self.std)


def content_loss(student: Tensor, teacher: Tensor, *, perceptual_weight: float = 1e-2,
                 vgg: VGG19Features | None = None) -> Tensor:
    """Eq. 5: ``|student - teacher|_1 + lambda |phi(student) - phi(teacher)|_1`` (means), phi
    = VGG19 conv5_4 when given, else :func:`fixed_descriptor` (all levels)."""
    loss = F.l1_loss(student, teacher)
    if perceptual_weight:
        if vgg is not None:
            per = F.l1_loss(vgg(student), vgg(teacher))
        else:
            per = torch.stack([F.l1_loss(a, b) for a, b in zip(
                fixed_descriptor(student), fixed_descriptor(teacher), strict=True)]).mean()
        loss = loss + perceptual_weight * per
    return loss
