"""OpenEXR reading and writing through the ``OpenEXR`` package (``OpenEXR.File``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ._paths import check_finite

logger = logging.getLogger(__name__)


def _open(path: Path) -> object:
    import OpenEXR

    try:
        # separate_channels: one 2-D array per channel, so channels of mixed pixel types
        # (half R, float G, ...) never need coalescing.
        return OpenEXR.File(str(path), separate_channels=True)
    except Exception as exc:  # OpenEXR raises RuntimeError/ValueError/... on bad files
        raise InputError(
            f"{path.name}: not a readable OpenEXR file ({exc}); re-export it or check the download"
        ) from None


def _pick_channels(names: list[str], path: Path) -> list[str]:
    """Choose the channels to read: R, G, B (any case), else Y, else a single channel."""
    by_upper = {n.upper(): n for n in names}
    if all(c in by_upper for c in "RGB"):
        return [by_upper["R"], by_upper["G"], by_upper["B"]]
    if "Y" in by_upper:
        return [by_upper["Y"]]
    if len(names) == 1:
        return names
    # Layered files ("beauty.R", ...): accept one layer holding R, G and B.
    layers: dict[str, dict[str, str]] = {}
    for n in names:
        layer, _, chan = n.rpartition(".")
        layers.setdefault(layer, {})[chan.upper()] = n
    rgb_layers = [lay for lay, ch in layers.items() if all(c in ch for c in "RGB")]
    if len(rgb_layers) == 1:
        ch = layers[rgb_layers[0]]
        return [ch["R"], ch["G"], ch["B"]]
    raise InputError(
        f"{path.name}: no R, G, B or Y channels among {sorted(names)}; export the colour "
        "layer as R, G, B channels"
    )


_EXR_MAGIC = b"\x76\x2f\x31\x01"
_PIXEL_BITS = {0: 32, 1: 16, 2: 32}  # UINT, HALF, FLOAT


def _parse_header_bytes(data: bytes) -> tuple[tuple[int, int, int, int], dict[str, int]]:
    """``dataWindow`` and ``{channel: pixel type}`` from the first header of an EXR file.

    The OpenEXR package gives no pixel types without decoding the pixels, so the attribute
    list (``name\\0 type\\0 size value``) is walked here; only two attributes are decoded.
    """
    if not data.startswith(_EXR_MAGIC):
        raise ValueError("no OpenEXR magic number")
    pos = 8
    window: tuple[int, int, int, int] | None = None
    types: dict[str, int] = {}
    while True:
        end = data.index(b"\0", pos)
        name = data[pos:end]
        if not name:
            break
        tend = data.index(b"\0", end + 1)
        kind = data[end + 1 : tend]
        size = int.from_bytes(data[tend + 1 : tend + 5], "little")
        value = data[tend + 5 : tend + 5 + size]
        if len(value) != size:
            raise ValueError("header truncated")
        pos = tend + 5 + size
        if name == b"dataWindow" and kind == b"box2i":
            xmin, ymin, xmax, ymax = np.frombuffer(value, dtype="<i4", count=4).tolist()
            window = (xmin, ymin, xmax, ymax)
        elif name == b"channels" and kind == b"chlist":
            cpos = 0
            while value[cpos : cpos + 1] not in (b"", b"\0"):
                cend = value.index(b"\0", cpos)
                ptype = int.from_bytes(value[cend + 1 : cend + 5], "little")
                types[value[cpos:cend].decode("utf-8", "replace")] = ptype
                cpos = cend + 17
    if window is None or not types:
        raise ValueError("no dataWindow or channels attribute")
    return window, types


def exr_header(path: Path) -> tuple[int, int, int, int]:
    """``(height, width, channels, bits)`` of an EXR file, read from its header only.

    ``channels`` counts what :func:`read_exr` returns (3 or 1); ``bits`` is 16 when those
    channels are all half floats, else 32 (float or uint).

    Raises:
        InputError: if the header cannot be parsed or has no usable channels.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 16)
            try:
                (xmin, ymin, xmax, ymax), types = _parse_header_bytes(data)
            except ValueError:
                if len(data) < 1 << 16:
                    raise
                # A header larger than 64 KiB (big previews or custom attributes).
                (xmin, ymin, xmax, ymax), types = _parse_header_bytes(data + fh.read())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path.name}: not a readable OpenEXR file ({exc}); re-export it or check the download"
        ) from None
    picked = _pick_channels(list(types), path)
    bits = 16 if all(types[n] == 1 for n in picked) else 32
    return ymax - ymin + 1, xmax - xmin + 1, len(picked), bits


def read_exr(path: Path) -> np.ndarray:
    """Read an OpenEXR file as float32 linear ``(H, W, 3)`` RGB or ``(H, W, 1)`` grey.

    Half and uint channels are converted to float32 (uint values unscaled). The data window
    is returned; the display window is ignored. Negative values (which lossy compressions
    such as DWAB produce near black) are kept.

    Raises:
        InputError: if the file is unreadable, has no colour channels, or holds NaN/Inf.
    """
    f = _open(path)
    try:
        chans = f.channels()  # type: ignore[attr-defined]
    except Exception as exc:
        raise InputError(
            f"{path.name}: OpenEXR cannot decode its pixels ({exc}); the file may be truncated"
        ) from None
    # The package returns packed "RGB"/"RGBA" arrays when separate_channels is False; accept
    # them as well in case a version ignores the flag.
    for packed in ("RGB", "RGBA"):
        if packed in chans and chans[packed].pixels.ndim == 3:
            img = np.asarray(chans[packed].pixels)[..., :3].astype(np.float32)
            check_finite(img, path)
            return img
    picked = _pick_channels(list(chans), path)
    planes = [np.asarray(chans[n].pixels) for n in picked]
    if any(p.shape != planes[0].shape or p.ndim != 2 for p in planes):
        raise InputError(
            f"{path.name}: channels {picked} are subsampled or of different sizes; "
            "expokit reads full-resolution channels only"
        )
    img = np.stack([p.astype(np.float32) for p in planes], axis=-1)
    check_finite(img, path)
    return img


def write_exr(path: Path, img: np.ndarray, *, half: bool) -> None:
    """Write ``(H, W, 1|3)`` float data as an EXR (ZIP compression, float or half channels)."""
    import OpenEXR

    dtype = np.float16 if half else np.float32
    names = ["Y"] if img.shape[2] == 1 else ["R", "G", "B"]
    channels = {n: np.ascontiguousarray(img[..., i], dtype=dtype) for i, n in enumerate(names)}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))
