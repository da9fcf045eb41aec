"""HC-MEF: an EEG-guided teacher and an image-only student for two-shot exposure fusion.

Human-Centric Multi-Exposure Fusion (CVPR 2026) fuses the most under- and the most
over-exposed shot of a scene. Its code is not public and the paper gives no layer sizes, no
pseudo-prior network and no distillation formula; everything below that the paper leaves open
is our choice, argued in docs/hcmef.md.

**The fusion network** (:class:`MIT`, "Mental Integrated Transformer") is a U-shaped
transformer over pixels: a 3x3 stem, two encoder levels and a bottleneck (``width``,
``2 width``, ``4 width`` channels; stride-2 convolutions between them), then two decoder levels
(bilinear up-sampling, 1x1 convolution, skip added). Every level is one :class:`CogBlock`:

* **cross-attention**: queries are the pixels' features (layer-normed over channels, one query
  per pixel), keys and values are *cognitive tokens* (``dim``-wide vectors), ``heads`` heads;
  the encoder's blocks attend to ``[v_under; v_over]`` (the cognitive state each shot evoked),
  the decoder's to ``v_target`` (the state the fused image should evoke: the paper's
  ``v_GT``);
* **a convolutional feed-forward** (1x1 expand by 2, depthwise 3x3, GELU, 1x1 back), which does
  the spatial mixing. We use no self-attention over pixels: each output pixel depends only on
  the image within the network's receptive field (plus the tokens), so tiled inference equals
  whole-image inference, and the network runs on 12-MP pairs on a CPU.

``mixing="concat"`` replaces cross-attention by concatenation (the paper's ablation): the
tokens' mean is projected to ``width`` channels, broadcast over the image, concatenated with
the features and mixed back by a 1x1 convolution.

The head gives a fusion weight ``w`` (sigmoid) and a residual ``r`` (tanh), and the output is
``w * under + (1 - w) * over + r / 2`` clipped to [0, 1]: a blend where the shots are good,
with room for the local tone changes the reference has.

**Teacher** (:class:`HCMEFTeacher`): an :class:`EEGEncoder` (1D CNN, stride 4 in time, then a
transformer encoder over time, mean-pooled) and an MLP adapter (:class:`TokenAdapter`) turn
each EEG epoch into ``tokens`` cognitive tokens: ``v_under``, ``v_over`` from the epochs of the
two shots and ``v_target`` from the epoch of the normal (reference) image, which only the
teacher has, during training.

**Student** (:class:`HCMEFStudent`): the same :class:`MIT`, whose tokens come from
:class:`PseudoPrior`, computed from the two shots alone: both shots, area-downscaled to
``prior_size`` x ``prior_size`` (:func:`prior_inputs`), go through three stride-2
convolutions; the feature map is average-pooled over the whole image and over its left and
right halves (the visual hemifields the EEG responds to separately), and MLP heads give the
pseudo ``v_under``, ``v_over`` and ``v_target``. Because the prior sees the whole (downscaled)
image, a tiled student run computes it once and feeds every tile the same tokens.

Sizes shipped (``expokit models``): ``width=16, dim=32, tokens=4, heads=2``: 137,300
parameters for the student, 125,636 for the teacher (the paper gives no sizes).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError
from .zoo import Pretrained

__all__ = ["MIT", "CogBlock", "EEGEncoder", "HCMEFStudent", "HCMEFTeacher", "PseudoPrior",
           "TokenAdapter", "prior_inputs"]

MIXINGS = ("attention", "concat")


class _ChannelNorm(nn.Module):
    """LayerNorm over the channels of an ``(B, C, H, W)`` map (per pixel)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CogBlock(nn.Module):
    """Cross-attention of pixels to cognitive tokens, then a convolutional feed-forward.

    Args:
        channels: feature channels.
        dim: token width.
        heads: attention heads (``dim`` must divide by it).
        mixing: ``"attention"`` or ``"concat"`` (see the module).
    """

    def __init__(self, channels: int, dim: int, heads: int = 2, mixing: str = "attention"
                 ) -> None:
        super().__init__()
        if mixing not in MIXINGS:
            raise InputError(f"mixing must be one of {', '.join(MIXINGS)}, got {mixing!r}")
        if dim % heads:
            raise InputError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.mixing, self.heads = mixing, heads
        self.norm = _ChannelNorm(channels)
        if mixing == "attention":
            self.q = nn.Conv2d(channels, dim, 1)
            self.kv = nn.Linear(dim, 2 * dim)
            self.out = nn.Conv2d(dim, channels, 1)
        else:
            self.proj = nn.Linear(dim, channels)
            self.mix = nn.Conv2d(2 * channels, channels, 1)
        self.ffn = nn.Sequential(
            nn.Conv2d(channels, 2 * channels, 1),
            nn.Conv2d(2 * channels, 2 * channels, 3, padding=1, groups=2 * channels),
            nn.GELU(),
            nn.Conv2d(2 * channels, channels, 1),
        )

    def forward(self, x: Tensor, tokens: Tensor) -> Tensor:
        """``x`` ``(B, C, H, W)``, ``tokens`` ``(B, T, dim)`` -> ``(B, C, H, W)``."""
        y = self.norm(x)
        b, _, h, w = y.shape
        if self.mixing == "attention":
            q = self.q(y).flatten(2).transpose(1, 2)  # (B, HW, dim)
            k, v = self.kv(tokens).chunk(2, dim=-1)  # (B, T, dim) each

            def split(t: Tensor) -> Tensor:  # (B, N, dim) -> (B, heads, N, dim / heads)
                return t.reshape(b, t.shape[1], self.heads, -1).transpose(1, 2)

            # written out rather than F.scaled_dot_product_attention: with a handful of keys it
            # costs the same, and its CPU kernel has no double backward (the unrolled
            # hypergradient of expokit.train.hcmef differentiates through a gradient)
            qh, kh, vh = split(q), split(k), split(v)
            att = torch.softmax(qh @ kh.transpose(-2, -1) * qh.shape[-1] ** -0.5, dim=-1)
            a = att @ vh
            a = a.transpose(1, 2).reshape(b, h * w, -1).transpose(1, 2).reshape(b, -1, h, w)
            x = x + self.out(a)
        else:
            t = self.proj(tokens.mean(dim=1))[:, :, None, None].expand(-1, -1, h, w)
            x = x + self.mix(torch.cat([y, t], dim=1))
        return x + self.ffn(x)


class MIT(nn.Module):
    """The U-shaped fusion transformer shared by teacher and student (see the module).

    Args:
        width: channels of the first level (then ``2 width``, ``4 width``).
        dim: cognitive token width.
        heads: attention heads.
        mixing: ``"attention"`` (cross-attention, the paper) or ``"concat"`` (its ablation).
    """

    #: The input's height and width are padded to a multiple of this (two stride-2 levels).
    MULTIPLE = 4

    def __init__(self, width: int = 16, dim: int = 32, heads: int = 2,
                 mixing: str = "attention") -> None:
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.stem = nn.Conv2d(6, c1, 3, padding=1)
        self.enc1 = CogBlock(c1, dim, heads, mixing)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.enc2 = CogBlock(c2, dim, heads, mixing)
        self.down2 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.mid = CogBlock(c3, dim, heads, mixing)
        self.up2 = nn.Conv2d(c3, c2, 1)
        self.dec2 = CogBlock(c2, dim, heads, mixing)
        self.up1 = nn.Conv2d(c2, c1, 1)
        self.dec1 = CogBlock(c1, dim, heads, mixing)
        self.head = nn.Conv2d(c1, 4, 3, padding=1)

    def forward(self, under: Tensor, over: Tensor, v_shots: Tensor, v_target: Tensor
                ) -> tuple[Tensor, list[Tensor]]:
        """Fuse ``under``, ``over`` ``(B, 3, H, W)`` in [0, 1], any ``H, W``.

        Args:
            under: the under-exposed shot.
            over: the over-exposed shot.
            v_shots: ``(B, T, dim)`` tokens the encoder attends to (``[v_under; v_over]``).
            v_target: ``(B, T', dim)`` tokens the decoder attends to.

        Returns:
            The fused image ``(B, 3, H, W)`` in [0, 1] and the five blocks' outputs (the
            features that feature-level distillation compares).
        """
        h, w = under.shape[-2:]
        m = self.MULTIPLE
        ph, pw = (-h) % m, (-w) % m
        x = torch.cat([under, over], dim=1)
        if ph or pw:  # replicate: reflect needs the pad below the size, a 1-pixel image has none
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        e1 = self.enc1(self.stem(x), v_shots)
        e2 = self.enc2(self.down1(F.gelu(e1)), v_shots)
        mid = self.mid(self.down2(F.gelu(e2)), v_shots)
        d2 = self.up2(F.interpolate(mid, size=e2.shape[-2:], mode="bilinear",
                                    align_corners=False)) + e2
        d2 = self.dec2(d2, v_target)
        d1 = self.up1(F.interpolate(d2, size=e1.shape[-2:], mode="bilinear",
                                    align_corners=False)) + e1
        d1 = self.dec1(d1, v_target)
        out = self.head(d1)[..., :h, :w]
        wgt = torch.sigmoid(out[:, :1])
        fused = wgt * under + (1.0 - wgt) * over + 0.5 * torch.tanh(out[:, 1:])
        return fused.clamp(0.0, 1.0), [e1, e2, mid, d2, d1]


class EEGEncoder(nn.Module):
    """1D CNN + transformer over time: an EEG epoch ``(B, channels, times)`` -> ``(B, width)``.

    Two convolutions (kernel 7 and 5, stride 2 each, GELU) mix the electrodes and shorten time
    4x; ``layers`` pre-norm transformer encoder layers attend over the remaining time steps
    (with a learned position embedding of up to ``max_steps``), and the mean over time is the
    epoch's embedding.
    """

    def __init__(self, channels: int = 64, width: int = 32, layers: int = 1, heads: int = 4,
                 max_steps: int = 256) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(channels, width, 7, stride=2, padding=3), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU(),
        )
        self.pos = nn.Parameter(torch.zeros(1, max_steps, width))
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.channels, self.max_steps = channels, max_steps

    def forward(self, epochs: Tensor) -> Tensor:
        if epochs.ndim != 3 or epochs.shape[1] != self.channels:
            raise InputError(f"EEG epochs of shape {tuple(epochs.shape)}: the encoder takes "
                             f"(batch, {self.channels} channels, time)")
        z = self.conv(epochs).transpose(1, 2)  # (B, steps, width)
        if z.shape[1] > self.max_steps:
            raise InputError(f"EEG epochs of {epochs.shape[2]} samples are too long for this "
                             f"encoder (at most {4 * self.max_steps}): resample them")
        return self.transformer(z + self.pos[:, : z.shape[1]]).mean(dim=1)


class TokenAdapter(nn.Module):
    """MLP ``(B, in_dim)`` -> ``tokens`` cognitive tokens ``(B, tokens, dim)``."""

    def __init__(self, in_dim: int, dim: int = 32, tokens: int = 4) -> None:
        super().__init__()
        self.tokens, self.dim = tokens, dim
        self.mlp = nn.Sequential(nn.Linear(in_dim, 2 * dim), nn.GELU(),
                                 nn.Linear(2 * dim, tokens * dim))

    def forward(self, z: Tensor) -> Tensor:
        return self.mlp(z).reshape(z.shape[0], self.tokens, self.dim)


def prior_inputs(under: Tensor, over: Tensor, size: int = 64) -> Tensor:
    """The pseudo-prior's input: both shots area-downscaled to ``size`` x ``size`` (6 channels).

    Area averaging (``adaptive_avg_pool2d``) of the whole image: what the viewer sees at a
    glance, the same for every tile of a tiled run.
    """
    x = torch.cat([under, over], dim=1)
    return F.adaptive_avg_pool2d(x, size)


class PseudoPrior(nn.Module):
    """Pseudo-cognitive tokens from the two shots: ``(B, 6, S, S)`` -> three ``(B, T, dim)``.

    Three stride-2 3x3 convolutions (``width``, ``2 width``, ``2 width`` channels, GELU); the
    result is average-pooled over the whole map and over its left and right halves; the three
    pooled vectors, concatenated, go through one MLP head per token set (under, over, target).
    """

    def __init__(self, width: int = 16, dim: int = 32, tokens: int = 4) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(6, width, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.GELU(),
        )
        self.heads = nn.ModuleList(TokenAdapter(6 * width, dim, tokens) for _ in range(3))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f = self.conv(x)
        half = f.shape[-1] // 2
        pooled = torch.cat([f.mean(dim=(2, 3)), f[..., :half].mean(dim=(2, 3)),
                            f[..., f.shape[-1] - half:].mean(dim=(2, 3))], dim=1)
        v_under, v_over, v_target = (head(pooled) for head in self.heads)
        return v_under, v_over, v_target


class HCMEFStudent(nn.Module, Pretrained):
    """The image-only student: :class:`PseudoPrior` tokens steer :class:`MIT`.

    Args:
        width: :class:`MIT` first-level channels (the prior's too).
        dim: token width.
        tokens: tokens per cognitive state.
        heads: attention heads.
        mixing: ``"attention"`` or ``"concat"``.
        prior_size: side of the downscaled pair the prior sees.

    Shipped weights (``expokit models``): ``hcmef`` (bi-level distillation, the default),
    ``hcmef_joint``, ``hcmef_twostage``, ``hcmef_imageonly`` (no teacher) and ``hcmef_concat``
    (bi-level, concatenation instead of cross-attention).
    """

    PRETRAINED: ClassVar[dict[str, str]] = {
        "hcmef": "hcmef", "hcmef_joint": "hcmef_joint", "hcmef_twostage": "hcmef_twostage",
        "hcmef_imageonly": "hcmef_imageonly", "hcmef_concat": "hcmef_concat"}

    def __init__(self, width: int = 16, dim: int = 32, tokens: int = 4, heads: int = 2,
                 mixing: str = "attention", prior_size: int = 64) -> None:
        super().__init__()
        if prior_size < 8:
            raise InputError(f"prior_size must be >= 8, got {prior_size}")
        self.architecture = {"width": width, "dim": dim, "tokens": tokens, "heads": heads,
                             "mixing": mixing, "prior_size": prior_size}
        self.prior = PseudoPrior(width, dim, tokens)
        self.net = MIT(width, dim, heads, mixing)

    def tokens(self, under: Tensor, over: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Pseudo ``(v_under, v_over, v_target)`` of whole shots ``(B, 3, H, W)``."""
        return self.prior(prior_inputs(under, over, self.architecture["prior_size"]))

    def fuse_with(self, under: Tensor, over: Tensor, tokens: tuple[Tensor, Tensor, Tensor]
                  ) -> tuple[Tensor, list[Tensor]]:
        """Fuse a crop (or tile) with tokens computed on the whole pair (:meth:`tokens`)."""
        v_under, v_over, v_target = tokens
        return self.net(under, over, torch.cat([v_under, v_over], dim=1), v_target)

    def forward(self, under: Tensor, over: Tensor) -> Tensor:
        """Fuse whole shots ``(B, 3, H, W)`` in [0, 1] -> ``(B, 3, H, W)``."""
        return self.fuse_with(under, over, self.tokens(under, over))[0]


class HCMEFTeacher(nn.Module, Pretrained):
    """The EEG-guided teacher: cognitive tokens from EEG epochs steer :class:`MIT`.

    Args:
        channels: EEG channels per epoch.
        width, dim, tokens, heads, mixing: as :class:`HCMEFStudent`.
        eeg_width: the EEG encoder's width.
        eeg_layers: its transformer layers.
    """

    PRETRAINED: ClassVar[dict[str, str]] = {"hcmef_teacher": "hcmef_teacher"}

    def __init__(self, channels: int = 64, width: int = 16, dim: int = 32, tokens: int = 4,
                 heads: int = 2, mixing: str = "attention", eeg_width: int = 32,
                 eeg_layers: int = 1) -> None:
        super().__init__()
        self.architecture = {"channels": channels, "width": width, "dim": dim,
                             "tokens": tokens, "heads": heads, "mixing": mixing,
                             "eeg_width": eeg_width, "eeg_layers": eeg_layers}
        self.encoder = EEGEncoder(channels, eeg_width, eeg_layers)
        self.adapter = TokenAdapter(eeg_width, dim, tokens)
        self.net = MIT(width, dim, heads, mixing)

    def tokens(self, eeg_under: Tensor, eeg_over: Tensor, eeg_target: Tensor
               ) -> tuple[Tensor, Tensor, Tensor]:
        """Cognitive tokens ``(v_under, v_over, v_target)`` of three epoch batches."""
        n = eeg_under.shape[0]
        z = self.adapter(self.encoder(torch.cat([eeg_under, eeg_over, eeg_target])))
        return z[:n], z[n:2 * n], z[2 * n:]

    def fuse_with(self, under: Tensor, over: Tensor, tokens: tuple[Tensor, Tensor, Tensor]
                  ) -> tuple[Tensor, list[Tensor]]:
        v_under, v_over, v_target = tokens
        return self.net(under, over, torch.cat([v_under, v_over], dim=1), v_target)

    def forward(self, under: Tensor, over: Tensor, eeg_under: Tensor, eeg_over: Tensor,
                eeg_target: Tensor) -> Tensor:
        return self.fuse_with(under, over, self.tokens(eeg_under, eeg_over, eeg_target))[0]
