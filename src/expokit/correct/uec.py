"""UEC exposure correction of photos of any size, toward a reference, an EV offset or the default.

The model (:class:`expokit.models.uec.UEC`) predicts its three blending weights from a
256-pixel-high copy of the photo; the full-resolution result is then a fixed per-pixel colour
transform (three passes of a 3->64->64->3 MLP). It is evaluated

* exactly, pixel by pixel in row strips, for images up to :data:`LUT_MIN_PIXELS` pixels and on
  GPUs;
* through a 3-D lookup table of :data:`LUT_SIZE`\\ ³ samples of that same transform with
  trilinear interpolation (``torch.nn.functional.grid_sample``) for larger images on the CPU:
  the exact MLP costs about 27,000 floating-point operations per pixel (2.2e11 for a 4K
  image), the table about 1e9 in all, which is what makes a 4K photo take well under half a
  second on two cores. The table's error against the exact transform is measured in
  ``tests/test_correct.py`` (see :data:`LUT_MAX_ERROR`).

References:
    R. Cui, L. Niu and G. Hu, "Unsupervised Exposure Correction", ECCV 2024.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .._checks import check_image, resolve_threads
from ..errors import InputError, MissingResourceError
from ..models.uec import UEC, thumbnail

#: Images with more pixels than this are rendered through the 3-D lookup table on the CPU.
LUT_MIN_PIXELS = 2_000_000
#: Samples per axis of the lookup table.
LUT_SIZE = 33
#: Bound on |table - exact| per value checked by the tests, for the shipped weights.
LUT_MAX_ERROR = 2.0 / 255.0
#: Pixels per strip of the exact renderer.
_STRIP_PIXELS = 1 << 16
#: Pixels per strip of the lookup-table renderer.
_LUT_STRIP_PIXELS = 1 << 20


def _rgb_array(img: object, name: str) -> np.ndarray:
    x = check_image(img, name=name)
    if x.shape[2] != 3:
        raise InputError(f"{name} has {x.shape[2]} channel(s), expected 3 (RGB); "
                         "convert a greyscale image with np.repeat(img, 3, axis=2)")
    if x.dtype.kind == "f":
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(f"{name} has float values in [{lo:.4g}, {hi:.4g}], expected "
                             "display-referred [0, 1]; tone-map radiance first "
                             "(expokit.tonemap) or clip it")
    return x


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` code values -> float32 ``(H, W, 3)`` tensor in [0, 1] (a new tensor)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    if x.dtype == np.uint8:
        return t.to(torch.float32).mul_(1.0 / 255.0)
    if x.dtype == np.uint16:
        return t.to(torch.int32).to(torch.float32).mul_(1.0 / 65535.0)
    return t.to(torch.float32)


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _resolve_device(device: str) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"device {device!r} is not a torch device; use 'cpu' or 'cuda'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for but CUDA is not available; use 'cpu'")
    return dev


@functools.lru_cache(maxsize=4)
def _load_cached(key: str, stamp: float, device: str) -> UEC:
    if key in UEC.PRETRAINED:
        model = UEC.from_pretrained(key, device=device)
    else:
        model = UEC.from_pretrained(path=key, device=device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_uec(weights: str | os.PathLike[str] = "uec", device: str = "cpu") -> UEC:
    """The UEC model for ``weights`` (a shipped name or a ``.safetensors`` file), cached.

    The model is shared between calls with the same arguments (and unchanged file): do not
    modify it.

    Raises:
        MissingResourceError: a weights file that does not exist.
        InputError: an unknown name or weights that do not fit the model.
    """
    dev = _resolve_device(device)
    key = str(weights)
    stamp = 0.0
    if key not in UEC.PRETRAINED:
        path = Path(key)
        if path.suffix != ".safetensors" and not path.exists():
            raise InputError(f"weights {key!r} is neither a shipped name "
                             f"({', '.join(UEC.PRETRAINED)}) nor a .safetensors file")
        if not path.is_file():
            raise MissingResourceError(f"weights file {path} does not exist; give the "
                                       "path of a .safetensors file from expokit train uec")
        key, stamp = str(path.resolve()), path.stat().st_mtime
    return _load_cached(key, stamp, str(dev))


def _render_exact(model: UEC, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    flat = x.reshape(-1, 3)
    out = torch.empty_like(flat)
    for i in range(0, flat.shape[0], _STRIP_PIXELS):
        out[i:i + _STRIP_PIXELS] = model.transform_pixels(flat[i:i + _STRIP_PIXELS], k)
    return out.view(x.shape)


def _to_grid(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` code values -> float32 tensor in [-1, 1] (``grid_sample`` coordinates)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    if x.dtype == np.uint16:
        t = t.to(torch.int32)
    scale = {np.dtype(np.uint8): 2.0 / 255.0, np.dtype(np.uint16): 2.0 / 65535.0}.get(x.dtype, 2.0)
    return t.to(torch.float32).mul_(scale).sub_(1.0)


def _render_lut(model: UEC, grid: torch.Tensor, k: torch.Tensor, threads: int) -> torch.Tensor:
    """Trilinear lookup of ``grid`` (``(H, W, 3)`` in [-1, 1]) in a table of the transform.

    Works in strips of about a megapixel, each split into ``2 * threads`` chunks (the batch
    dimension ``grid_sample`` parallelises over), and writes every strip's result over its
    own coordinates, so ``grid`` becomes the output and the peak memory is one image.
    """
    lut = model.lut(k, LUT_SIZE)
    flat = grid.view(-1, 3)
    n = flat.shape[0]
    chunks = max(1, 2 * threads)
    strip = max(chunks, (_LUT_STRIP_PIXELS // chunks) * chunks)
    table = lut.expand(chunks, -1, -1, -1, -1)
    for start in range(0, n, strip):
        part = flat[start:start + strip]
        per = part.shape[0] // chunks
        main = per * chunks
        if per > 0:
            got = F.grid_sample(table, part[:main].view(chunks, 1, 1, per, 3), mode="bilinear",
                                padding_mode="border", align_corners=True)
            part[:main].view(chunks, per, 3).copy_(got.view(chunks, 3, per).permute(0, 2, 1))
        if main < part.shape[0]:
            part[main:] = model.transform_pixels(part[main:].add(1.0).mul(0.5), k)
    return grid


def correct_exposure(
    image: np.ndarray,
    *,
    reference: np.ndarray | None = None,
    ev: float | None = None,
    weights: str | Path = "uec",
    device: str = "cpu",
    threads: int | None = None,
) -> np.ndarray:
    """Correct the exposure of a photo with UEC (Cui, Niu & Hu, ECCV 2024).

    The target exposure is, in this order of choice:

    * ``reference``: the exposure feature of that image (any size and content: UEC reads
      exposure, not the scene);
    * ``ev``: the shipped default exposure shifted by ``ev`` stops: the model carries the mean
      exposure feature of training shots taken at -3, -2, ..., +3 EV from an automatic
      exposure (key 0.18), and ``ev`` interpolates linearly in that table; ``ev = 0`` is the
      default;
    * neither: the default reference feature (the mean feature of the EV 0 training shots).

    Args:
        image: display-referred RGB photo ``(H, W, 3)``: uint8, uint16 or float in [0, 1].
        reference: display-referred RGB image whose exposure is the target.
        ev: exposure offset in stops from the default, in [-3, 3].
        weights: a shipped weights name (``"uec"``) or a ``.safetensors`` file.
        device: torch device (``"cpu"``, ``"cuda"``).
        threads: CPU threads for torch during the call (default :func:`resolve_threads`).

    Returns:
        float32 ``(H, W, 3)`` in [0, 1]. (Write it back in the input's bit depth with
        :func:`expokit.io.write_image` and ``bit_depth``.)

    Raises:
        InputError: an image or reference that is not an RGB image (wrong type, shape,
            channel count, NaN, floats outside [0, 1]), both ``reference`` and ``ev``, an
            ``ev`` outside [-3, 3], a bad device.
        MissingResourceError: a weights file that does not exist.

    >>> import numpy as np
    >>> dark = np.full((64, 96, 3), 20, np.uint8)
    >>> out = correct_exposure(dark)                            # doctest: +SKIP
    >>> out.shape, out.dtype                                    # doctest: +SKIP
    ((64, 96, 3), dtype('float32'))
    """
    x = _rgb_array(image, "image")
    if reference is not None and ev is not None:
        raise InputError("give reference or ev, not both: reference is an image whose exposure "
                         "is the target, ev an offset in stops from the default exposure")
    ref = None if reference is None else _rgb_array(reference, "reference")
    if ev is not None and (isinstance(ev, bool) or not isinstance(ev, (int, float))
                           or not math.isfinite(ev)):
        raise InputError(f"ev must be a number of stops in [-3, 3], got {ev!r}")
    model = load_uec(weights, device)
    dev = next(model.parameters()).device
    n_threads = resolve_threads(threads)
    with _torch_threads(n_threads), torch.inference_mode():
        if ref is not None:
            feature = model.encode(_to_tensor(ref, dev).permute(2, 0, 1)[None])
        elif ev is not None:
            feature = model.ev_feature(float(ev))
        else:
            feature = None
        if dev.type == "cpu" and x.shape[0] * x.shape[1] > LUT_MIN_PIXELS:
            grid = _to_grid(x, dev)
            # Resizing is linear with weights summing to 1, so the copy of the [-1, 1]
            # coordinates maps back to the copy of the image.
            small = thumbnail(grid.permute(2, 0, 1)[None]).add(1.0).mul(0.5)
            k = model.predict(small, feature)
            out = _render_lut(model, grid, k[0], n_threads)
        else:
            xt = _to_tensor(x, dev)
            k = model.predict(xt.permute(2, 0, 1)[None], feature)
            out = _render_exact(model, xt, k[0])
    return out.cpu().numpy()
