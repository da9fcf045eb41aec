"""Learned blind quality metrics with user-supplied checkpoints: MUSIQ and DBCNN.

Both networks are written here in plain PyTorch (:mod:`expokit.metrics._musiq_net`,
:mod:`expokit.metrics._dbcnn_net`; no torchvision, no timm) with the module names of the
``pyiqa`` package (IQA-PyTorch), so that its released checkpoints, which many users already
have, load strictly. **expokit ships no weights for them and never downloads any**: give the
path of a checkpoint file with ``checkpoint=`` (or, in :func:`expokit.metrics.score`, with
``options={"musiq": {"checkpoint": PATH}}``), or set the environment variable
``EXPOKIT_MUSIQ_CHECKPOINT`` / ``EXPOKIT_DBCNN_CHECKPOINT`` once.

Checkpoints that fit (pyiqa's release names; pyiqa keeps the files it downloaded in
``~/.cache/torch/hub/pyiqa/``, and they are published in the Hugging Face repository
``chaofengc/IQA-PyTorch-Weights``):

* MUSIQ: ``musiq_koniq_ckpt-e95806b9.pth`` (KonIQ-10k, score about 0-100, pyiqa's default
  ``musiq``), ``musiq_spaq_ckpt-358bb6af.pth`` (SPAQ, 0-100), ``musiq_paq2piq_ckpt-364c0c84.pth``
  (PaQ-2-PiQ, 0-100), ``musiq_ava_ckpt-e8d3f067.pth`` (AVA aesthetics, mean of a 10-bin
  distribution, 1-10). The head is read from the file: a 1-output head gives the value, a
  10-bin head the mean bin.
* DBCNN: ``DBCNN_KonIQ10k-2de81c0a.pth`` (KonIQ-10k, about 0-1, pyiqa's default ``dbcnn``), and
  ``DBCNN_LIVEC-*``, ``DBCNN_LIVE-*``, ``DBCNN_CSIQ-*``, ``DBCNN_TID2008-*``, ``DBCNN_TID2013-*``,
  each on the score scale of its training set.

Files are read with ``torch.load(..., weights_only=True)`` (no pickled code runs) or, for
``.safetensors``, with :mod:`safetensors`. Common containers (``"params"``, ``"params_ema"``,
``"state_dict"``, ``"model"``) are unwrapped and a ``"module."`` or ``"net."`` key prefix is
removed once; then every key and shape must match the network: a file of another network
raises :class:`~expokit.errors.InputError` naming the first offending keys. Loaded models are
cached per (file, device), so scoring many images reads the file once.

How far this is verified: with random weights in pyiqa's key layout, pyiqa's own architecture
code (``musiq_arch.py``, ``dbcnn_arch.py`` and its multi-scale preprocessing, IQA-PyTorch commit
01ae427, run with stand-ins for its download and registry helpers) and these networks agree to
1.5e-6 (MUSIQ, KonIQ and AVA heads, three image sizes) and exactly (DBCNN). Scores with the
released trained checkpoints were not available when this was written;
``benchmarks/validate_learned_iqa.py --pyiqa`` compares both on real images for anyone who has
pyiqa and the files.

Images are ``(H, W)`` or ``(H, W, C)`` display-referred values (uint8/uint16 code values, or
float in ``[0, data_range]``), at least 32 pixels a side; grey images are repeated to RGB. The
networks run in float32 (the precision they were trained in) on ``device``; the whole image is
used at its own resolution, so memory grows with the pixel count (MUSIQ's attention with the
square of the number of 32 x 32 patches: about 1 GB at 12 megapixels on the CPU).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from ..errors import InputError, MissingResourceError
from ..nn.runtime import load_state_strict, require_torch, resolve_device
from ._checks import as_float64, size_of
from ._table import MetricInfo

if TYPE_CHECKING:
    import torch

__all__ = [
    "CHECKPOINT_ENV",
    "INFO",
    "dbcnn",
    "load_checkpoint",
    "musiq",
    "resolve_checkpoint",
]

LearnedName = Literal["musiq", "dbcnn"]

#: Environment variable holding the default checkpoint of each metric.
CHECKPOINT_ENV: dict[str, str] = {
    "musiq": "EXPOKIT_MUSIQ_CHECKPOINT",
    "dbcnn": "EXPOKIT_DBCNN_CHECKPOINT",
}

#: Release file names of checkpoints that fit, for error messages.
_KNOWN_FILES: dict[str, str] = {
    "musiq": "musiq_koniq_ckpt-e95806b9.pth (KonIQ-10k; also musiq_spaq_ckpt-358bb6af.pth, "
    "musiq_paq2piq_ckpt-364c0c84.pth, musiq_ava_ckpt-e8d3f067.pth)",
    "dbcnn": "DBCNN_KonIQ10k-2de81c0a.pth (KonIQ-10k; also DBCNN_LIVEC-*.pth, DBCNN_LIVE-*.pth, "
    "DBCNN_CSIQ-*.pth, DBCNN_TID2013-*.pth)",
}

_WHERE = (
    "pyiqa (IQA-PyTorch) releases them: they are in the Hugging Face repository "
    "chaofengc/IQA-PyTorch-Weights, and pyiqa keeps the ones it downloaded in "
    "~/.cache/torch/hub/pyiqa/"
)

#: Keys under which training code commonly nests a state dict, in the order they are tried.
_CONTAINERS = ("params", "params_ema", "state_dict", "model")
#: Key prefixes left by DataParallel / training wrappers, removed once.
_PREFIXES = ("module.", "net.")

#: Smallest image side: one 32 x 32 MUSIQ patch; DBCNN's VGG branch downsamples by 16.
MIN_SIDE = 32


# --- checkpoints ---------------------------------------------------------------------------


def _how_to_pass(name: str) -> str:
    return (
        f"pass checkpoint=PATH to expokit.metrics.{name}(), "
        f"options={{{name!r}: {{'checkpoint': PATH}}}} to expokit.metrics.score(), "
        f"--checkpoint {name}=PATH to `expokit score`, "
        f"or set the environment variable {CHECKPOINT_ENV[name]}=PATH"
    )


def resolve_checkpoint(name: str, checkpoint: object) -> Path:
    """The checkpoint file of metric ``name``: the given path, else ``$EXPOKIT_<NAME>_CHECKPOINT``.

    Args:
        name: ``"musiq"`` or ``"dbcnn"``.
        checkpoint: a path, or None to use the environment variable.

    Returns:
        The path of an existing file.

    Raises:
        MissingResourceError: when no path is given and the variable is unset or empty, or the
            file does not exist; the message says which files fit, where they are published and
            how to pass one.
        InputError: for an unknown ``name`` or a ``checkpoint`` that is not a path.
    """
    if name not in CHECKPOINT_ENV:
        raise InputError(f"no learned metric {name!r}; valid names: {', '.join(CHECKPOINT_ENV)}")
    env = CHECKPOINT_ENV[name]
    source = "the checkpoint argument"
    if checkpoint is None:
        value = os.environ.get(env, "")
        if not value:
            raise MissingResourceError(
                f"{name} needs a checkpoint file and none was given: expokit ships no weights "
                f"for it and never downloads any. Use a pyiqa checkpoint such as "
                f"{_KNOWN_FILES[name]}; {_WHERE}. Then {_how_to_pass(name)}"
            )
        checkpoint, source = value, f"${env}"
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise InputError(
            f"{name}: checkpoint must be a file path (str or pathlib.Path), got "
            f"{type(checkpoint).__name__}"
        )
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise MissingResourceError(
            f"{name} checkpoint {path} (from {source}) {what}: give the path of a pyiqa "
            f"checkpoint file such as {_KNOWN_FILES[name]}; {_WHERE}. Then {_how_to_pass(name)}"
        )
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict from a ``.pth``/``.pt`` or ``.safetensors`` file and unwrap it.

    ``torch.load`` runs with ``weights_only=True`` on the CPU. A dict nested under one of
    ``"params"``, ``"params_ema"``, ``"state_dict"``, ``"model"`` (tried in that order, repeatedly)
    is taken out, and a leading ``"module."`` then ``"net."`` is removed once from every key
    that has it.

    Args:
        path: the checkpoint file.

    Returns:
        ``{parameter name: tensor}``.

    Raises:
        MissingResourceError: if torch (or, for ``.safetensors``, safetensors) is not installed
            or the file does not exist.
        InputError: if the file cannot be read or holds no tensor dict.
    """
    th = _torch()
    path = Path(path)
    if not path.is_file():
        raise MissingResourceError(f"checkpoint {path} does not exist")
    try:
        if path.suffix.lower() == ".safetensors":
            try:
                from safetensors.torch import load_file
            except ImportError:
                raise MissingResourceError(
                    f"{path.name} is a .safetensors file: pip install safetensors"
                ) from None
            state: Any = load_file(str(path), device="cpu")
        else:
            state = th.load(path, map_location="cpu", weights_only=True)
    except MissingResourceError:
        raise
    except Exception as exc:  # torch / safetensors raise many types for a bad file
        raise InputError(
            f"checkpoint {path} is not a readable PyTorch or safetensors state dict: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    unwrapped = True
    while unwrapped and isinstance(state, Mapping):
        unwrapped = False
        for key in _CONTAINERS:
            inner = state.get(key)
            if isinstance(inner, Mapping):
                state, unwrapped = inner, True
                break
    if not isinstance(state, Mapping):
        raise InputError(f"checkpoint {path} holds a {type(state).__name__}, expected a state dict")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, th.Tensor):
            raise InputError(
                f"checkpoint {path}: entry {key!r} is a {type(value).__name__}, expected a "
                "tensor; give a file that holds a model state dict"
            )
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


# --- models --------------------------------------------------------------------------------


def _torch() -> Any:
    require_torch("MUSIQ and DBCNN", safetensors=False)
    import torch

    return torch


def _build_musiq(state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    from ._musiq_net import MUSIQ, MusiqConfig

    head = state.get("head.0.weight", state.get("head.weight"))
    classes = int(head.shape[0]) if head is not None and head.ndim == 2 else 1
    return MUSIQ(MusiqConfig(num_classes=max(classes, 1)))


def _build_dbcnn(state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    from ._dbcnn_net import DBCNN

    return DBCNN()


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "musiq": _build_musiq,
    "dbcnn": _build_dbcnn,
}


@functools.lru_cache(maxsize=4)
def _cached_model(name: str, path: Path, stamp: tuple[int, int], device: str) -> Any:
    """The evaluation-mode network of ``name`` with the weights of ``path`` on ``device``.

    ``stamp`` (modification time, size) makes a rewritten file load again.
    """
    state = load_checkpoint(path)
    model = _BUILDERS[name](state)
    load_state_strict(
        model, state, source=f"checkpoint {path}",
        hint=f"give a pyiqa {name.upper()} checkpoint such as {_KNOWN_FILES[name]}",
    )
    return model.eval().requires_grad_(False).to(device)


def load_model(
    name: LearnedName, checkpoint: str | os.PathLike[str] | None = None, device: object = "cpu"
) -> torch.nn.Module:
    """The network of ``name`` (``"musiq"`` or ``"dbcnn"``) with a checkpoint's weights, cached.

    Args:
        name: which network.
        checkpoint: the checkpoint file; None reads ``$EXPOKIT_<NAME>_CHECKPOINT``.
        device: torch device to run on.

    Returns:
        The model in evaluation mode (shared between calls: do not modify it).

    Raises:
        MissingResourceError: no checkpoint, or torch not installed.
        InputError: a checkpoint of another network, or a bad device.
    """
    path = resolve_checkpoint(name, checkpoint).resolve()
    dev = resolve_device(device)
    st = path.stat()
    return _cached_model(name, path, (st.st_mtime_ns, st.st_size), str(dev))


def _to_tensor(
    image: object, data_range: float | None, name: str, device: torch.device
) -> torch.Tensor:
    """A checked image as a ``(1, 3, H, W)`` float32 tensor in [0, 1] (a new array)."""
    th = _torch()
    x, dr = as_float64(image, name="image", data_range=data_range)
    h, w = x.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(
            f"image is {size_of(x)}, too small for {name}: both sides must be at least "
            f"{MIN_SIDE} pixels (upscale it first)"
        )
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    x = np.clip(x / dr, 0.0, 1.0).astype(np.float32)
    return th.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(device)


# --- metrics -------------------------------------------------------------------------------


def musiq(
    image: np.ndarray,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    data_range: float | None = None,
    device: str | torch.device = "cpu",
) -> float:
    """MUSIQ, the multi-scale image quality Transformer, with a user-supplied checkpoint.

    The image is scaled to [-1, 1] and turned into one sequence of 32 x 32 patches from the image
    itself and from copies resized (bicubic, aspect ratio kept) to a longer side of 224 and 384
    pixels, each patch tagged with its hash-grid position (10 x 10 grid) and scale; a ResNet
    stem encodes the patches, a 14-layer Transformer (hidden 384, 6 heads, MLP 1152) reads them
    with a CLS token, and the head on the CLS token gives the score.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` display-referred image, C in {1, 3}, both sides at
            least 32 pixels.
        checkpoint: a pyiqa MUSIQ checkpoint (e.g. ``musiq_koniq_ckpt-e95806b9.pth``), ``.pth``
            or ``.safetensors``; None reads the path from ``$EXPOKIT_MUSIQ_CHECKPOINT``.
        data_range: span of the values; required for float images (1.0 for [0, 1]),
            255 / 65535 by default for uint8 / uint16.
        device: torch device to run the network on.

    Returns:
        The predicted quality, higher is better, on the scale of the checkpoint's training
        data: about 0-100 for KonIQ-10k, SPAQ and PaQ-2-PiQ, 1-10 for AVA.

    Raises:
        MissingResourceError: no checkpoint given or found, or PyTorch not installed.
        InputError: a checkpoint that does not fit MUSIQ (naming the keys), a bad image or
            device.

    References:
        J. Ke, Q. Wang, Y. Wang, P. Milanfar, F. Yang, "MUSIQ: Multi-scale image quality
        Transformer", ICCV 2021, Sec. 3.

    >>> musiq(np.zeros((64, 64, 3), np.uint8), checkpoint="no_such_file.pth")
    Traceback (most recent call last):
    ...
    expokit.errors.MissingResourceError: musiq checkpoint no_such_file.pth ...
    """
    th = _torch()
    from ._musiq_net import MUSIQ, multiscale_patches

    model = cast(MUSIQ, load_model("musiq", checkpoint, device))
    dev = resolve_device(device)
    x = _to_tensor(image, data_range, "musiq", dev)[0] * 2.0 - 1.0
    with th.inference_mode():
        patches, spatial, scales = multiscale_patches(x, model.config)
        value = model(patches[None], spatial[None].to(dev), scales[None].to(dev))
    return float(value[0])


def dbcnn(
    image: np.ndarray,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    data_range: float | None = None,
    device: str | torch.device = "cpu",
) -> float:
    """DBCNN, the deep bilinear CNN quality predictor, with a user-supplied checkpoint.

    The image, in [0, 1] and normalised with the ImageNet mean and standard deviation, goes
    through VGG-16's convolutional layers and the S-CNN synthetic-distortion branch at full
    resolution; the bilinear pooling of the two feature maps (512 x 128), square-rooted and
    L2-normalised, is mapped to the score by a linear layer.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` display-referred image, C in {1, 3}, both sides at
            least 32 pixels.
        checkpoint: a pyiqa DBCNN checkpoint (e.g. ``DBCNN_KonIQ10k-2de81c0a.pth``), ``.pth`` or
            ``.safetensors``; None reads the path from ``$EXPOKIT_DBCNN_CHECKPOINT``.
        data_range: span of the values; required for float images (1.0 for [0, 1]),
            255 / 65535 by default for uint8 / uint16.
        device: torch device to run the network on.

    Returns:
        The predicted quality on the scale of the checkpoint's training data (about 0-1 for
        KonIQ-10k; higher is better).

    Raises:
        MissingResourceError: no checkpoint given or found, or PyTorch not installed.
        InputError: a checkpoint that does not fit DBCNN (naming the keys), a bad image or
            device.

    References:
        W. Zhang, K. Ma, J. Yan, D. Deng, Z. Wang, "Blind image quality assessment using a deep
        bilinear convolutional neural network", IEEE TCSVT 30(1), 2020, Sec. III.

    >>> dbcnn(np.zeros((64, 64, 3), np.uint8), checkpoint="no_such_file.pth")
    Traceback (most recent call last):
    ...
    expokit.errors.MissingResourceError: dbcnn checkpoint no_such_file.pth ...
    """
    th = _torch()
    model = load_model("dbcnn", checkpoint, device)
    x = _to_tensor(image, data_range, "dbcnn", resolve_device(device))
    with th.inference_mode():
        value = model(x)
    return float(value[0])


INFO: dict[str, MetricInfo] = {
    "musiq": MetricInfo(
        name="musiq",
        function=musiq,
        higher_is_better=True,
        kind="blind",
        range=(0.0, 100.0),
        description="multi-scale Transformer quality prediction from a user-supplied pyiqa "
        "checkpoint (KonIQ-10k: about 0-100; AVA checkpoint: 1-10)",
        reference="Ke, Wang, Wang, Milanfar & Yang, ICCV 2021",
        checkpoint_env=CHECKPOINT_ENV["musiq"],
    ),
    "dbcnn": MetricInfo(
        name="dbcnn",
        function=dbcnn,
        higher_is_better=True,
        kind="blind",
        range=(0.0, 1.0),
        description="deep bilinear CNN (VGG-16 + S-CNN) quality prediction from a user-supplied "
        "pyiqa checkpoint (KonIQ-10k: about 0-1)",
        reference="Zhang, Ma, Yan, Deng & Wang, IEEE TCSVT 30(1), 2020",
        checkpoint_env=CHECKPOINT_ENV["dbcnn"],
    ),
}
