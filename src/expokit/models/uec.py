"""UEC (Cui, Niu & Hu, ECCV 2024): unsupervised exposure correction toward a reference exposure.

A pixel-level transform of 19,388 parameters that moves the exposure of an image toward the
exposure of a reference image. Three parts, as in the paper (section 3) and the authors' code:

* **exposure feature encoder** :class:`ExposureEncoder`: the image is resized to 256 pixels
  high, then conv 3->32 (7x7, stride 2) and conv 32->32 (3x3, stride 2), each with a ReLU and a
  zero padding of 1; standard deviation, mean and maximum pooling over the spatial positions
  give a 96-dimensional exposure feature ``(std, mean, max)``;
* **parameter predictor** :class:`ParameterPredictor`: a shared layer 96->8 with tanh on each
  image's feature, then a layer 16->1 on the two codes, gives the blending weight ``lambda``
  (an unbounded scalar per image);
* **corrector** :class:`ExposureCorrector`: ``I_out = lambda * I + (1 - lambda) * h(I)``,
  clamped to [0, 1], with ``h`` three 1x1 convolutions 3->64->64->3 with LeakyReLU. It is
  applied three times; every pass predicts a new ``lambda`` from the current image against
  the same reference feature.

Parameters: encoder ``(3*49*32 + 32) + (32*9*32 + 32) = 4736 + 9248 = 13984``; predictor
``(96*8 + 8) + (16 + 1) = 793``; corrector ``(3*64 + 64) + (64*64 + 64) + (64*3 + 3) = 4611``;
total **19,388** (the paper's "about 19K").

Two choices of ours, each stated where it matters:

* **Identity at equal features.** The authors' predictor ``p(f_in, f_ref) = W [t(f_in),
  t(f_ref)] + b`` (``t = tanh(fc3(.))``) does not return ``lambda = 1`` when input and
  reference have the same exposure feature, although the paper's intent is that an image that
  already has the reference exposure is left alone. Here ``1 - lambda = p(f_in, f_ref) -
  p(f_ref, f_in) = (W_a - W_b)(t(f_in) - t(f_ref))``: the predictor is antisymmetric in its two
  arguments, so equal features give ``lambda = 1`` exactly and the corrector returns the input
  unchanged. All weights keep their meaning except the bias of ``fc4``, which cancels (and only
  the difference of the two halves of ``fc4``'s weight matters), so 9 of the 19,388
  parameters do not change the output; the parameter count is kept as the paper's.
* **Where the encoder looks between passes.** The encoder always sees the 256-high copy. Pass
  ``k``'s ``lambda`` is predicted from the 256-high copy after ``k - 1`` passes, computed on
  that copy (the corrector is per pixel, so this is the same transform as on the full image,
  without resizing every intermediate full-resolution result). Training used the same rule,
  so the three ``lambda`` of an image depend only on its 256-high copy and the full-resolution
  render is a fixed per-pixel colour transform: :meth:`UEC.render` evaluates it exactly,
  :meth:`UEC.render_lut` through a 3-D lookup table (for 4K images on a CPU).

Shipped weights: ``uec`` (the paper's losses with TV weight 0.1) and ``uec_notv`` (without
TV, as the authors' later code); ``uec`` scored higher on the held-out Ma 2015 benchmark
(``benchmarks/quality_correction.py``).

The default reference feature (buffer ``default_feature``, used when no reference is given,
as the paper does at test time with one reference image) and a table of features per exposure
offset (buffers ``ev_stops``, ``ev_features``) are part of the state, so they ship with the
weights: see :mod:`expokit.train.uec` for how they are computed. (Without a reference,
:func:`expokit.correct.correct_exposure` uses only the model's grey curve toward
``default_feature``, limited so as not to clip: ``docs/uec_default.md``.)

References:
    R. Cui, L. Niu and G. Hu, "Unsupervised Exposure Correction", ECCV 2024 (section 3.2,
    figure 3; equations 1-4); the authors' code, github.com/BeyondHeaven/uec_code
    (``models/uec/networks.py``), for the layer sizes.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError
from .zoo import Pretrained

#: Height of the copy the exposure feature encoder sees.
ENCODER_HEIGHT = 256
#: Length of the exposure feature: (std, mean, max) of 32 channels.
FEATURE_DIM = 96
#: Number of corrector passes.
PASSES = 3
#: Exposure offsets (stops) of the shipped per-EV reference features.
EV_STOPS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)


def check_batch(x: object, name: str = "x") -> Tensor:
    """Check a ``(B, 3, H, W)`` float tensor and return it.

    Raises:
        InputError: not a tensor, wrong shape or channel count, or not floating point.
    """
    if not isinstance(x, Tensor):
        raise InputError(f"{name} is a {type(x).__name__}, expected a torch tensor (B, 3, H, W)")
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"{name} has shape {tuple(x.shape)}, expected (B, 3, H, W) RGB in [0, 1]")
    if not x.is_floating_point():
        raise InputError(f"{name} has dtype {x.dtype}, expected a float tensor in [0, 1]")
    if x.shape[2] < 8 or x.shape[3] < 8:
        raise InputError(f"{name} is {x.shape[3]}x{x.shape[2]}, expected at least 8x8 pixels")
    return x


def thumbnail(x: Tensor, height: int = ENCODER_HEIGHT) -> Tensor:
    """The copy the encoder sees: ``height`` pixels high, width in proportion.

    Bilinear with antialiasing (the authors' code resizes without it; for a 4K image that
    aliases, and the pooled statistics would then depend on the input size). An image that is
    already ``height`` high is returned as is.

    Shape:
        ``(B, C, H, W) -> (B, C, height, max(1, int(height * W / H)))``
    """
    h, w = x.shape[-2:]
    width = max(1, int(height * w / h))
    if (h, w) == (height, width):
        return x
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                         antialias=True)


class ExposureEncoder(nn.Module):
    """Exposure feature: two strided convolutions, then (std, mean, max) pooling to 96 values.

    Shape:
        ``(B, 3, H, W) -> (B, 96)``; the input should be the 256-high copy (:func:`thumbnail`).
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 7, stride=2, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.conv1(x))
        y = F.relu(self.conv2(y))
        std, mean = torch.std_mean(y, dim=(2, 3))
        peak = y.amax(dim=(2, 3))
        return torch.cat([std, mean, peak], dim=1)


class ParameterPredictor(nn.Module):
    """``1 - lambda`` from the exposure features of the input and the reference.

    ``t = tanh(fc3(f))`` for each feature (shared layer 96->8), ``p(a, b) = fc4([t_a, t_b])``,
    and the output is ``p(f_in, f_ref) - p(f_ref, f_in)``: zero when the features are equal.

    Shape:
        ``(B, 96), (B, 96) -> (B,)``
    """

    def __init__(self, feature_dim: int = FEATURE_DIM, code_dim: int = 8) -> None:
        super().__init__()
        self.fc3 = nn.Linear(feature_dim, code_dim)
        self.fc4 = nn.Linear(2 * code_dim, 1)

    def forward(self, f_in: Tensor, f_ref: Tensor) -> Tensor:
        t_in = torch.tanh(self.fc3(f_in))
        t_ref = torch.tanh(self.fc3(f_ref))
        forward = self.fc4(torch.cat([t_in, t_ref], dim=1))
        swapped = self.fc4(torch.cat([t_ref, t_in], dim=1))
        return (forward - swapped)[:, 0]


class ExposureCorrector(nn.Module):
    """One pass: ``clamp(lambda * I + (1 - lambda) * h(I), 0, 1)``, ``h`` = 1x1 convs 3->64->64->3.

    Works on ``(B, 3, H, W)`` images or on ``(B, N, 3)`` pixel lists (the same MLP).
    """

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 1)
        self.conv2 = nn.Conv2d(width, width, 1)
        self.conv3 = nn.Conv2d(width, 3, 1)

    def h(self, x: Tensor) -> Tensor:
        """The per-pixel non-linear operator ``h`` on ``(B, 3, H, W)``."""
        y = F.leaky_relu(self.conv1(x))
        y = F.leaky_relu(self.conv2(y))
        return self.conv3(y)

    def h_pixels(self, x: Tensor) -> Tensor:
        """``h`` on a ``(..., 3)`` pixel list, as three matrix products."""
        w1, w2, w3 = (c.weight[:, :, 0, 0] for c in (self.conv1, self.conv2, self.conv3))
        y = F.leaky_relu(F.linear(x, w1, self.conv1.bias))
        y = F.leaky_relu(F.linear(y, w2, self.conv2.bias))
        return F.linear(y, w3, self.conv3.bias)

    def forward(self, x: Tensor, one_minus_lambda: Tensor) -> Tensor:
        k = one_minus_lambda.view(-1, 1, 1, 1)
        return torch.clamp(x + k * (self.h(x) - x), 0.0, 1.0)


class UEC(nn.Module, Pretrained):
    """Unsupervised Exposure Correction: the encoder, the predictor and the 3-pass corrector.

    Args:
        passes: corrector passes (3 in the paper).

    Shape:
        ``forward``: ``(B, 3, H, W)`` in [0, 1] and an optional reference feature ``(96,)`` or
        ``(B, 96)`` -> ``(B, 3, H, W)`` in [0, 1].

    >>> m = UEC()
    >>> sum(p.numel() for p in m.parameters())
    19388
    >>> x = torch.rand(1, 3, 32, 48)
    >>> bool(torch.equal(m(x, m.encode(x)), x))   # the reference's own exposure: identity
    True
    """

    PRETRAINED: ClassVar[dict[str, str]] = {"uec": "uec", "uec_notv": "uec_notv"}

    def __init__(self, passes: int = PASSES) -> None:
        super().__init__()
        if passes < 1:
            raise InputError(f"passes must be >= 1, got {passes}")
        self.passes = passes
        self.encoder = ExposureEncoder()
        self.predictor = ParameterPredictor()
        self.corrector = ExposureCorrector()
        self.register_buffer("default_feature", torch.zeros(FEATURE_DIM))
        self.register_buffer("ev_stops", torch.tensor(EV_STOPS))
        self.register_buffer("ev_features", torch.zeros(len(EV_STOPS), FEATURE_DIM))

    # --- features -----------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Exposure feature ``(B, 96)`` of ``(B, 3, H, W)`` images (of their 256-high copy)."""
        return self.encoder(thumbnail(check_batch(x)))

    def ev_feature(self, ev: float) -> Tensor:
        """Reference feature for an exposure offset of ``ev`` stops from the default.

        Linear interpolation in the shipped table (``ev_stops``, ``ev_features``: the mean
        feature of training shots at -3..+3 EV from the auto exposure).

        Raises:
            InputError: ``ev`` outside the table's range or not finite.
        """
        lo, hi = float(self.ev_stops[0]), float(self.ev_stops[-1])
        if not isinstance(ev, (int, float)) or not (lo <= float(ev) <= hi):
            raise InputError(f"ev must be a number of stops in [{lo:g}, {hi:g}], got {ev!r}")
        stops = self.ev_stops.tolist()
        i = min(max(0, next((k for k, s in enumerate(stops) if s >= ev), len(stops) - 1) - 1),
                len(stops) - 2)
        w = (float(ev) - stops[i]) / (stops[i + 1] - stops[i])
        return (1.0 - w) * self.ev_features[i] + w * self.ev_features[i + 1]

    def _reference(self, ref_feature: Tensor | None, batch: int) -> Tensor:
        if ref_feature is None:
            ref_feature = self.default_feature
        if not isinstance(ref_feature, Tensor):
            raise InputError(f"ref_feature is a {type(ref_feature).__name__}, expected a tensor "
                             f"(96,) or (B, 96) from UEC.encode")
        if ref_feature.ndim == 1:
            ref_feature = ref_feature.unsqueeze(0)
        if ref_feature.ndim != 2 or ref_feature.shape[1] != FEATURE_DIM or \
                ref_feature.shape[0] not in (1, batch):
            raise InputError(f"ref_feature has shape {tuple(ref_feature.shape)}, expected "
                             f"({FEATURE_DIM},) or ({batch}, {FEATURE_DIM}) from UEC.encode")
        return ref_feature.expand(batch, FEATURE_DIM)

    # --- forward ------------------------------------------------------------------------
    def _passes(self, small: Tensor, ref: Tensor, render_last: bool) -> tuple[Tensor, Tensor]:
        ks = []
        for i in range(self.passes):
            k = self.predictor(self.encoder(small), ref)
            if render_last or i + 1 < self.passes:
                small = self.corrector(small, k)
            ks.append(k)
        return torch.stack(ks, dim=1), small

    def predict(self, x: Tensor, ref_feature: Tensor | None = None) -> Tensor:
        """``1 - lambda`` of every pass, ``(B, passes)``, predicted on the 256-high copy.

        Pass ``k`` encodes the 256-high copy after ``k - 1`` passes (computed on that copy)
        and compares it with the reference feature.
        """
        small = thumbnail(check_batch(x))
        ref = self._reference(ref_feature, x.shape[0])
        return self._passes(small, ref, render_last=False)[0]

    def render(self, x: Tensor, k: Tensor) -> Tensor:
        """Apply the passes with the given ``1 - lambda`` values ``(B, passes)`` to ``x``."""
        for i in range(k.shape[1]):
            x = self.corrector(x, k[:, i])
        return x

    def forward(self, x: Tensor, ref_feature: Tensor | None = None) -> Tensor:
        """Correct ``x`` toward ``ref_feature`` (default: the shipped default reference).

        Args:
            x: ``(B, 3, H, W)`` display-referred images in [0, 1].
            ref_feature: ``(96,)`` or ``(B, 96)`` exposure feature of the reference
                (:meth:`encode`), or None for ``default_feature``.

        Returns:
            ``(B, 3, H, W)`` in [0, 1].

        Raises:
            InputError: for a malformed ``x`` or ``ref_feature``.
        """
        small = thumbnail(check_batch(x))
        ref = self._reference(ref_feature, x.shape[0])
        if small is x:  # x is its own 256-high copy: the passes on it are the result
            return self._passes(x, ref, render_last=True)[1]
        return self.render(x, self._passes(small, ref, render_last=False)[0])

    # --- per-pixel transform ------------------------------------------------------------
    def transform_pixels(self, rgb: Tensor, k: Tensor) -> Tensor:
        """The full per-pixel transform of one image: ``(N, 3) -> (N, 3)`` for ``k`` (passes,)."""
        for i in range(k.shape[0]):
            rgb = torch.clamp(rgb + k[i] * (self.corrector.h_pixels(rgb) - rgb), 0.0, 1.0)
        return rgb

    def lut(self, k: Tensor, size: int = 65) -> Tensor:
        """3-D lookup table of the per-pixel transform for one image's ``k`` ``(passes,)``.

        Returns:
            ``(1, 3, size, size, size)``, indexed ``[0, c, b, g, r]`` (the layout
            ``torch.nn.functional.grid_sample`` reads with grid ``(r, g, b)`` in [-1, 1]).
        """
        axis = torch.linspace(0.0, 1.0, size, dtype=k.dtype, device=k.device)
        b, g, r = torch.meshgrid(axis, axis, axis, indexing="ij")
        rgb = torch.stack([r, g, b], dim=-1).reshape(-1, 3)
        out = torch.cat([self.transform_pixels(part, k) for part in rgb.split(1 << 14)])
        return out.T.reshape(1, 3, size, size, size).contiguous()
