"""UEC exposure correction of photos of any size, toward a reference, an EV offset or the default.

The model (:class:`expokit.models.uec.UEC`) predicts its three blending weights from a
256-pixel-high copy of the photo; the full-resolution result is then a fixed per-pixel colour
transform (three passes of a 3->64->64->3 MLP). It is evaluated

* exactly, pixel by pixel in row strips, for images up to :data:`LUT_MIN_PIXELS` pixels and on
  GPUs;
* through a 3-D lookup table of :data:`LUT_SIZE` cubed samples of that same transform with
  trilinear interpolation (``torch.nn.functional.grid_sample``) for larger images on the CPU:
  the exact MLP costs about 27,000 floating-point operations per pixel (2.2e11 for a 4K
  image, several seconds on two cores), the table about 3e9 to build and a few operations
  per pixel to read. Measured for the shipped weights on a Ma 2015 photo (Balloons, darkest
  shot) against the exact renderer: at most 3.6 8-bit code values, 0.07 on average (49³;
  a 33³ table: 6.9 and 0.12; 65³: 2.6 and 0.06, 25 % slower). A 3840x2160 photo takes
  about 0.3 s on two cores (``benchmarks/bench_correction.py``).

The full-size steps (conversion to float, rendering) run in row strips on ``threads`` Python
threads; the 256-high stage runs on torch's own threads.

References:
    R. Cui, L. Niu and G. Hu, "Unsupervised Exposure Correction", ECCV 2024.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .._checks import resolve_threads
from ..errors import InputError, MissingResourceError
from ..models.uec import UEC, thumbnail
from .baselines import check_rgb

#: Images with more pixels than this are rendered through the 3-D lookup table on the CPU.
LUT_MIN_PIXELS = 2_000_000
#: Samples per axis of the lookup table.
LUT_SIZE = 49
#: Bound on |table - exact| per value that the tests check (shipped weights: 3.6 / 255 measured).
LUT_MAX_ERROR = 4.0 / 255.0
#: Pixels per strip of the exact renderer.
_STRIP_PIXELS = 1 << 16
#: Pixels per strip of the lookup-table renderer.
_LUT_STRIP_PIXELS = 1 << 20


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` code values -> float32 ``(H, W, 3)`` tensor in [0, 1] (a new tensor)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    if x.dtype == np.uint8:
        return t.to(torch.float32).mul_(1.0 / 255.0)
    if x.dtype == np.uint16:
        return t.to(torch.int32).to(torch.float32).mul_(1.0 / 65535.0)
    return t.to(torch.float32)


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


def _strips(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _run(tasks: list[Callable[[], None]], threads: int) -> None:
    """Run ``tasks`` on ``threads`` Python threads (torch releases the GIL in its kernels).

    Strips are handed out dynamically, so a thread that the OS deschedules (a busy shared
    machine) delays only its own strip, not a barrier that every thread waits at, as
    OpenMP's static split does.
    """
    def call(task: Callable[[], None]) -> None:
        with torch.inference_mode():
            task()

    if threads <= 1 or len(tasks) <= 1:
        for t in tasks:
            call(t)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for f in [pool.submit(call, t) for t in tasks]:
            f.result()


def _render_exact(model: UEC, flat: torch.Tensor, k: torch.Tensor, threads: int) -> None:
    """Exact per-pixel transform of ``flat`` (``(N, 3)`` in [0, 1]), in place, in strips."""
    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            flat[i0:i1] = model.transform_pixels(flat[i0:i1], k)
        return run

    _run([task(i0, i1) for i0, i1 in _strips(flat.shape[0], _STRIP_PIXELS)], threads)


def _to_unit(x: np.ndarray, out: np.ndarray, threads: int, *, grid: bool) -> None:
    """Code values -> float32 in [0, 1] (``grid``: in [-1, 1]) into ``out`` ``(N, 3)``.

    NumPy per strip (its loops release the GIL; torch's would each start an OpenMP team).
    """
    src = np.ascontiguousarray(x).reshape(-1, 3)
    scale = {np.dtype(np.uint8): 1.0 / 255.0, np.dtype(np.uint16): 1.0 / 65535.0}.get(
        x.dtype, 1.0)
    mul = np.float32(2.0 * scale if grid else scale)

    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            np.multiply(src[i0:i1], mul, out=out[i0:i1], casting="unsafe")
            if grid:
                np.subtract(out[i0:i1], np.float32(1.0), out=out[i0:i1])
        return run

    _run([task(i0, i1) for i0, i1 in _strips(src.shape[0], _LUT_STRIP_PIXELS)], threads)


def _render_lut(model: UEC, flat: np.ndarray, k: torch.Tensor, threads: int) -> None:
    """Trilinear lookup of ``flat`` (``(N, 3)`` in [-1, 1]) in a table of the transform.

    Each strip's result is written over its own coordinates, so ``flat`` becomes the output
    and the peak memory is one float image. ``grid_sample`` on a batch of one runs on the
    calling thread only, so the strips spread over the Python threads without OpenMP.
    """
    lut = model.lut(k, LUT_SIZE)

    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            part = flat[i0:i1]
            got = F.grid_sample(lut, torch.from_numpy(part).view(1, 1, 1, -1, 3),
                                mode="bilinear", padding_mode="border", align_corners=True)
            np.copyto(part, got.numpy().reshape(3, -1).T)
        return run

    _run([task(i0, i1) for i0, i1 in _strips(flat.shape[0], _LUT_STRIP_PIXELS)], threads)


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
    x = check_rgb(image, "image")
    if reference is not None and ev is not None:
        raise InputError("give reference or ev, not both: reference is an image whose exposure "
                         "is the target, ev an offset in stops from the default exposure")
    ref = None if reference is None else check_rgb(reference, "reference")
    if ev is not None and (isinstance(ev, bool) or not isinstance(ev, (int, float))
                           or not math.isfinite(ev)):
        raise InputError(f"ev must be a number of stops in [-3, 3], got {ev!r}")
    model = load_uec(weights, device)
    dev = next(model.parameters()).device
    n_threads = resolve_threads(threads)
    h, w = x.shape[:2]
    if dev.type != "cpu":
        with torch.inference_mode():
            feature = _feature(model, ref, ev, dev)
            xt = _to_tensor(x, dev).permute(2, 0, 1)[None]
            return model(xt, feature)[0].permute(1, 2, 0).cpu().numpy()
    use_lut = h * w > LUT_MIN_PIXELS
    # The full-size work runs in row strips on Python threads; torch's own thread count is
    # lowered (never raised) for the small 256-high stage, since changing it costs time.
    old_threads = torch.get_num_threads()
    if old_threads > n_threads:
        torch.set_num_threads(n_threads)
    try:
        with torch.inference_mode():
            feature = _feature(model, ref, ev, dev)
            flat = np.empty((h * w, 3), np.float32)
            _to_unit(x, flat, n_threads, grid=use_lut)
            small = thumbnail(torch.from_numpy(flat).view(h, w, 3).permute(2, 0, 1)[None])
            if use_lut:
                # Resizing is linear with weights summing to 1: the copy of the [-1, 1]
                # coordinates maps back to the copy of the image.
                small = small.add(1.0).mul(0.5)
            k = model.predict(small, feature)[0]
            if use_lut:
                _render_lut(model, flat, k, n_threads)
            else:
                _render_exact(model, torch.from_numpy(flat), k, n_threads)
    finally:
        if old_threads > n_threads:
            torch.set_num_threads(old_threads)
    return flat.reshape(h, w, 3)


def _feature(model: UEC, ref: np.ndarray | None, ev: float | None,
             dev: torch.device) -> torch.Tensor | None:
    if ref is not None:
        return model.encode(_to_tensor(ref, dev).permute(2, 0, 1)[None])
    if ev is not None:
        return model.ev_feature(float(ev))
    return None
