"""The MUSIQ network and its multi-scale patch input (PyTorch; imported only when used).

MUSIQ (Ke, Wang, Wang, Milanfar & Yang, ICCV 2021) scores an image from a bag of 32 x 32
patches taken from several resolutions of it at once: the image itself and copies resized
(aspect ratio kept) so that their longer side is 224 and 384 pixels. Each patch is encoded by a
small ResNet stem (a 7 x 7 weight-standardised convolution, group norm, max pooling and one
bottleneck block), flattened and projected to a 384-wide token. A hash-based spatial embedding
(every image's patch grid is mapped onto a fixed 10 x 10 grid of learned vectors) and a scale
embedding (one learned vector per resolution) are added, a CLS token is prepended, and a
14-layer Transformer encoder (6 heads, MLP 1152) reads the sequence; a linear head on the CLS
token gives the score (one value for MOS-trained checkpoints such as KonIQ-10k, or a 10-bin
score distribution whose mean is taken for AVA).

The module and parameter names follow the PyTorch port of ``pyiqa`` (IQA-PyTorch, C. Chen), so
its released ``musiq_*_ckpt-*.pth`` state dicts load strictly; so do its preprocessing rules:
values scaled to [-1, 1], bicubic resizing without antialiasing, TensorFlow "SAME" zero padding
of every resolution to a whole number of patches, and the PyTorch "nearest" rule for the hash
grid. ``pyiqa`` pads each resized scale to a fixed sequence length with masked-out dummy tokens;
they are left out here because the attention mask makes them invisible to the real tokens and
the CLS token (the score is the same up to float rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MUSIQ",
    "MusiqConfig",
    "hashed_positions",
    "multiscale_patches",
    "nearest_grid_index",
    "same_pad",
]


@dataclass(frozen=True)
class MusiqConfig:
    """Hyper-parameters of MUSIQ; the defaults are those of the published checkpoints.

    Attributes:
        patch_size: side of the square patches, pixels.
        hidden_size: width of the Transformer tokens.
        mlp_dim: hidden width of each Transformer MLP.
        num_heads: attention heads per layer.
        num_layers: Transformer encoder layers.
        grid_size: side G of the hash grid of spatial embeddings (G * G vectors).
        longer_sides: longer side, pixels, of each resized copy of the image (the full image is
            always used as well, as the last scale).
        num_classes: 1 for a scalar quality head, > 1 for a score distribution (AVA: 10 bins)
            whose mean ``sum_i p_i * i`` (i = 1..C) is the score.
        stem_width: channels of the ResNet stem (the bottleneck outputs four times as many).
    """

    patch_size: int = 32
    hidden_size: int = 384
    mlp_dim: int = 1152
    num_heads: int = 6
    num_layers: int = 14
    grid_size: int = 10
    longer_sides: tuple[int, ...] = (224, 384)
    num_classes: int = 1
    stem_width: int = 64

    @property
    def num_scales(self) -> int:
        """Number of resolutions: the resized copies plus the image itself."""
        return len(self.longer_sides) + 1


# --- input: multi-scale patches and hashed positions ---------------------------------------


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad ``(B, C, H, W)`` as TensorFlow's ``padding="SAME"`` does (extra pixel at the end).

    The output of a ``kernel``/``stride`` convolution of the padded tensor without padding has
    ``ceil(H / stride)`` rows and ``ceil(W / stride)`` columns.
    """
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad takes the last dimension first
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    if not any(pads):
        return x
    return F.pad(x, pads)


def nearest_grid_index(grid_size: int, count: int) -> np.ndarray:
    """Which of ``grid_size`` grid cells each of ``count`` patches along one axis falls in.

    This is PyTorch's "nearest" resampling rule (``torch.nn.functional.interpolate`` with
    ``mode="nearest"``), which the pyiqa checkpoints were validated with:
    ``min(floor(i * s), G - 1)`` with the scale ``s = G / count`` and the product in float32.

    >>> nearest_grid_index(10, 5).tolist()
    [0, 2, 4, 6, 8]
    """
    if grid_size < 1 or count < 1:
        raise ValueError(f"grid_size and count must be >= 1, got {grid_size} and {count}")
    scale = np.float32(grid_size) / np.float32(count)
    pos = np.floor(np.arange(count, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(pos, grid_size - 1)


def hashed_positions(grid_size: int, count_h: int, count_w: int) -> np.ndarray:
    """Hash-based spatial embedding index of each patch of a ``count_h`` x ``count_w`` grid.

    Patch (i, j) (row-major order) looks up vector ``r(i) * G + c(j)`` of the ``G x G`` table,
    where ``r`` and ``c`` are :func:`nearest_grid_index` along each axis (Ke et al. 2021,
    Sec. 3.2, "hash-based 2D spatial embedding").

    >>> hashed_positions(10, 2, 3).tolist()
    [0, 3, 6, 50, 53, 56]
    """
    rows = nearest_grid_index(grid_size, count_h)
    cols = nearest_grid_index(grid_size, count_w)
    return (rows[:, None] * grid_size + cols[None, :]).reshape(-1)


def _patches(image: torch.Tensor, patch: int) -> tuple[torch.Tensor, int, int]:
    """``(3, H, W)`` -> ``(N, 3, patch, patch)`` patches in row-major order, with the grid size."""
    padded = same_pad(image[None], patch, patch)[0]
    c, h, w = padded.shape
    gh, gw = h // patch, w // patch
    tiles = padded.reshape(c, gh, patch, gw, patch).permute(1, 3, 0, 2, 4)
    return tiles.reshape(gh * gw, c, patch, patch), gh, gw


def resized_size(height: int, width: int, longer_side: int) -> tuple[int, int]:
    """Size of the aspect-preserving copy whose longer side is ``longer_side`` (Python round)."""
    ratio = longer_side / max(height, width)
    return round(height * ratio), round(width * ratio)


def multiscale_patches(
    image: torch.Tensor, config: MusiqConfig = MusiqConfig()
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The multi-scale patch sequence of one image.

    Scale ``k`` (``k = 0 .. len(longer_sides) - 1``, sides in increasing order) is the image
    resized bicubically (no antialiasing) so that its longer side is ``longer_sides[k]``; the last
    scale is the image itself. Each is zero-padded ("SAME") to whole patches and cut into
    ``patch_size`` squares, row by row.

    Args:
        image: ``(3, H, W)`` float tensor, already scaled to [-1, 1].
        config: the model's :class:`MusiqConfig`.

    Returns:
        ``(patches, spatial, scale)``: ``(N, 3, P, P)`` patches, and ``(N,)`` int64 hash-grid
        indices and scale indices, where ``N = sum_k ceil(h_k / P) * ceil(w_k / P)``.
    """
    _, h, w = image.shape
    patches, spatial, scales = [], [], []
    sides = sorted(config.longer_sides)
    for scale_id, side in enumerate([*sides, None]):
        if side is None:
            img = image
        else:
            rh, rw = resized_size(h, w, side)
            img = F.interpolate(image[None], size=(rh, rw), mode="bicubic", align_corners=False)[0]
        p, gh, gw = _patches(img, config.patch_size)
        patches.append(p)
        spatial.append(torch.from_numpy(hashed_positions(config.grid_size, gh, gw)))
        scales.append(torch.full((gh * gw,), scale_id, dtype=torch.int64))
    return torch.cat(patches), torch.cat(spatial), torch.cat(scales)


# --- network -----------------------------------------------------------------------------


class StdConv2d(nn.Conv2d):
    """Convolution with weight standardisation and TensorFlow "SAME" padding.

    Each output filter is shifted to zero mean and divided by its (unbiased) standard deviation
    plus 1e-5 before use (Qiao et al., "Weight Standardization", 2019; BiT ResNets).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        x = same_pad(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, w, self.bias, self.stride)


class Bottleneck(nn.Module):
    """Pre-activation-free ResNet bottleneck (1x1, 3x3, 1x1) with group norm and a projection."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = StdConv2d(in_ch, in_ch, 1, bias=False)
        self.gn1 = nn.GroupNorm(32, in_ch, eps=1e-4)
        self.conv2 = StdConv2d(in_ch, in_ch, 3, bias=False)
        self.gn2 = nn.GroupNorm(32, in_ch, eps=1e-4)
        self.conv3 = StdConv2d(in_ch, out_ch, 1, bias=False)
        self.gn3 = nn.GroupNorm(32, out_ch, eps=1e-4)
        self.conv_proj = StdConv2d(in_ch, out_ch, 1, bias=False)
        self.gn_proj = nn.GroupNorm(32, out_ch, eps=1e-4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        shortcut = self.gn_proj(self.conv_proj(x))
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        return F.relu(self.gn3(self.conv3(y)) + shortcut)


class Attention(nn.Module):
    """Multi-head self-attention with separate query/key/value projections."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        b, n, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)

        y = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x))
        )
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """Two linear layers with an exact (erf) GELU between them."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.fc2(F.gelu(self.fc1(x)))


class EncoderBlock(nn.Module):
    """Pre-norm Transformer layer: ``x + Attn(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, mlp_dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class HashPositionEmbedding(nn.Module):
    """The ``G * G`` learned spatial vectors, looked up by hashed position."""

    def __init__(self, grid_size: int, dim: int) -> None:
        super().__init__()
        self.position_emb = nn.Parameter(torch.zeros(1, grid_size * grid_size, dim))

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x + self.position_emb[0, positions]


class ScaleEmbedding(nn.Module):
    """One learned vector per resolution."""

    def __init__(self, num_scales: int, dim: int) -> None:
        super().__init__()
        self.scale_emb = nn.Parameter(torch.zeros(num_scales, dim))

    def forward(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x + self.scale_emb[scales]


class Encoder(nn.Module):
    """Embeddings, CLS token, the Transformer layers and the final layer norm."""

    def __init__(self, config: MusiqConfig) -> None:
        super().__init__()
        dim = config.hidden_size
        self.posembed_input = HashPositionEmbedding(config.grid_size, dim)
        self.scaleembed_input = ScaleEmbedding(config.num_scales, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)
        self.transformer = nn.ModuleDict(
            {
                f"encoderblock_{i}": EncoderBlock(dim, config.mlp_dim, config.num_heads)
                for i in range(config.num_layers)
            }
        )

    def forward(  # noqa: D102
        self, tokens: torch.Tensor, spatial: torch.Tensor, scales: torch.Tensor
    ) -> torch.Tensor:
        x = self.scaleembed_input(self.posembed_input(tokens, spatial), scales)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.transformer.values():
            x = block(x)
        return self.encoder_norm(x)


class MUSIQ(nn.Module):
    """Multi-scale image quality Transformer (Ke et al., ICCV 2021).

    Args:
        config: hyper-parameters; the defaults are those of the published checkpoints.

    Shape:
        ``forward(patches, spatial, scales)``: ``(B, N, 3, P, P)`` patches in [-1, 1] and
        ``(B, N)`` int64 hash-grid and scale indices (see :func:`multiscale_patches`) ->
        ``(B,)`` scores.
    """

    def __init__(self, config: MusiqConfig = MusiqConfig()) -> None:
        super().__init__()
        if config.patch_size % 4:
            raise ValueError(f"patch_size must be a multiple of 4, got {config.patch_size}")
        self.config = config
        width = config.stem_width
        self.conv_root = StdConv2d(3, width, 7, stride=2, bias=False)
        self.gn_root = nn.GroupNorm(32, width, eps=1e-6)
        self.block1 = Bottleneck(width, 4 * width)
        token = config.patch_size // 4
        self.embedding = nn.Linear(4 * width * token * token, config.hidden_size)
        self.transformer_encoder = Encoder(config)
        head = nn.Linear(config.hidden_size, config.num_classes)
        # pyiqa's layout: a bare Linear for a scalar head, Sequential(Linear, Softmax) for bins.
        self.head: nn.Module = head if config.num_classes == 1 else nn.Sequential(head)

    def encode_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """``(M, 3, P, P)`` -> ``(M, 4 * stem_width * (P / 4) ** 2)`` patch features.

        Flattened channels-last (height, width, channel), the order of the original
        TensorFlow model that the embedding weights expect.
        """
        x = F.relu(self.gn_root(self.conv_root(patches)))
        x = F.max_pool2d(same_pad(x, 3, 2), 3, 2)  # zero padding is safe after the ReLU
        x = self.block1(x)
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    def forward(  # noqa: D102
        self, patches: torch.Tensor, spatial: torch.Tensor, scales: torch.Tensor
    ) -> torch.Tensor:
        b, n = patches.shape[:2]
        feats = self.encode_patches(patches.reshape(b * n, *patches.shape[2:]))
        tokens = self.embedding(feats.reshape(b, n, -1))
        cls = self.transformer_encoder(tokens, spatial, scales)[:, 0]
        logits = self.head(cls)
        if self.config.num_classes == 1:
            return logits[:, 0]
        probs = logits.softmax(dim=-1)
        bins = torch.arange(1, self.config.num_classes + 1, dtype=probs.dtype, device=probs.device)
        return (probs * bins).sum(dim=-1)
