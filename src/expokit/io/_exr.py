"""OpenEXR reading and writing through the ``OpenEXR`` package (``OpenEXR.File``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._checks import Negative, check_negative
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
    """Choose the channels to read: R, G, B (any case), else luminance/chroma Y, RY, BY, else
    Y, else a single channel."""
    by_upper = {n.upper(): n for n in names}
    if all(c in by_upper for c in "RGB"):
        return [by_upper["R"], by_upper["G"], by_upper["B"]]
    if all(c in by_upper for c in ("Y", "RY", "BY")):
        return [by_upper["Y"], by_upper["RY"], by_upper["BY"]]
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

    ``channels`` counts what :func:`read_exr` returns (3 for R, G, B or Y, RY, BY, else 1);
    ``bits`` is 16 when those
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


#: Chromaticities of Rec. 709 / sRGB primaries and D65 white (x, y of R, G, B, white): the
#: OpenEXR default when a file has no ``chromaticities`` attribute.
REC709_CHROMATICITIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)


def luminance_weights(chromaticities: tuple[float, ...] = REC709_CHROMATICITIES) -> np.ndarray:
    """Luminance weights ``(wR, wG, wB)`` of RGB with the given primaries and white point.

    The Y row of the RGB to XYZ matrix, normalised to sum 1, as OpenEXR's
    ``RgbaYca::computeYw`` computes it from a file's ``chromaticities`` attribute.

    Args:
        chromaticities: ``(rx, ry, gx, gy, bx, by, wx, wy)`` CIE xy coordinates.

    Returns:
        float64 array of 3 weights summing to 1.

    >>> [round(float(w), 4) for w in luminance_weights()]
    [0.2126, 0.7152, 0.0722]
    """
    rx, ry, gx, gy, bx, by, wx, wy = (float(c) for c in chromaticities)
    primaries = np.array(
        [[x / y, 1.0, (1.0 - x - y) / y] for x, y in ((rx, ry), (gx, gy), (bx, by))]
    ).T
    white = np.array([wx / wy, 1.0, (1.0 - wx - wy) / wy])
    scale = np.linalg.solve(primaries, white)  # the Y row of RGB->XYZ is this scale
    return scale / scale.sum()


def _upsample(plane: np.ndarray, height: int, width: int, ys: int, xs: int) -> np.ndarray:
    """Bilinear upsampling of a subsampled EXR channel to ``(height, width)``.

    OpenEXR stores sample ``(i, j)`` of a channel with sampling ``(ys, xs)`` at pixel
    ``(i * ys, j * xs)`` of the data window (its origin is a multiple of the sampling), so
    pixel ``(y, x)`` lies at the fractional sample ``(y / ys, x / xs)``; past the last sample
    the edge value is repeated.
    """

    def axis(n_out: int, n_in: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.arange(n_out, dtype=np.float64) / step
        i0 = np.minimum(np.floor(pos).astype(np.intp), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        t = np.clip(pos - i0, 0.0, 1.0).astype(np.float32)
        return i0, i1, t

    y0, y1, ty = axis(height, plane.shape[0], ys)
    x0, x1, tx = axis(width, plane.shape[1], xs)
    rows = plane[y0] * (1.0 - ty[:, None]) + plane[y1] * ty[:, None]
    return rows[:, x0] * (1.0 - tx) + rows[:, x1] * tx


def _yca_to_rgb(planes: list[np.ndarray], sampling: list[tuple[int, int]], weights: np.ndarray,
                path: Path) -> np.ndarray:
    """RGB from OpenEXR's luminance/chroma channels (``ImfRgbaYca``).

    ``RY = (R - Y) / Y`` and ``BY = (B - Y) / Y`` (often stored at half resolution), so
    ``R = (RY + 1) Y``, ``B = (BY + 1) Y`` and ``G = (Y - wR R - wB B) / wG``.
    """
    lum, ry, by = (p.astype(np.float32) for p in planes)
    h, w = lum.shape
    chroma = []
    if sampling[0] != (1, 1):
        raise InputError(
            f"{path.name}: the luminance channel Y is subsampled {sampling[0]}; expokit reads "
            "full-resolution luminance only (re-export the file as R, G, B)"
        )
    for c, (ys, xs) in zip((ry, by), sampling[1:], strict=True):
        if c.shape != (h, w):
            if c.ndim != 2 or c.shape != (-(-h // ys), -(-w // xs)):
                raise InputError(
                    f"{path.name}: a chroma channel holds {c.shape} samples, which does not "
                    f"fit a {w}x{h} image sampled {xs}x{ys}; re-export the file as R, G, B"
                )
            c = _upsample(c, h, w, ys, xs)
        chroma.append(c)
    wr, wg, wb = (np.float32(v) for v in weights)
    red = (chroma[0] + np.float32(1.0)) * lum
    blue = (chroma[1] + np.float32(1.0)) * lum
    green = (lum - wr * red - wb * blue) / wg
    return np.stack([red, green, blue], axis=-1)


def read_exr(path: Path, *, negative: Negative = "clip") -> np.ndarray:
    """Read an OpenEXR file as float32 linear ``(H, W, 3)`` RGB or ``(H, W, 1)`` grey.

    Half and uint channels are converted to float32 (uint values unscaled). The data window
    is returned; the display window is ignored. Luminance/chroma files (channels Y, RY, BY,
    as OpenEXR's RGBA interface writes them) are converted to RGB with the luminance weights
    of the file's ``chromaticities`` (Rec. 709 when absent); subsampled chroma is upsampled
    bilinearly (OpenEXR's own reader uses a wider filter, so edges of strong colour may
    differ slightly). A file with only Y stays grey.

    Args:
        path: the file.
        negative: what to do with negative values (which lossy compressions such as DWAB
            produce near black): ``"clip"`` sets them to 0 with a logged warning, ``"error"``
            refuses them (see :func:`expokit._checks.check_negative`).

    Raises:
        InputError: if the file is unreadable, has no colour channels, holds NaN/Inf, or
            negative values with ``negative="error"``.
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
            return check_negative(img, negative=negative, name=path.name)
    picked = _pick_channels(list(chans), path)
    planes = [np.asarray(chans[n].pixels) for n in picked]
    if len(picked) == 3 and picked[1].upper() == "RY" and planes[0].ndim == 2:
        try:
            header = f.header()  # type: ignore[attr-defined]
            chroma = header.get("chromaticities", REC709_CHROMATICITIES)
            weights = luminance_weights(chroma)
        except (TypeError, ValueError, np.linalg.LinAlgError):
            logger.warning("%s: unusable chromaticities attribute; using Rec. 709", path.name)
            weights = luminance_weights()
        sampling = [(int(getattr(chans[n], "ySampling", 1)), int(getattr(chans[n], "xSampling", 1)))
                    for n in picked]
        img = _yca_to_rgb(planes, sampling, weights, path)
        check_finite(img, path)
        return check_negative(img, negative=negative, name=path.name)
    if any(p.shape != planes[0].shape or p.ndim != 2 for p in planes):
        raise InputError(
            f"{path.name}: channels {picked} are subsampled or of different sizes; "
            "expokit reads full-resolution channels only"
        )
    img = np.stack([p.astype(np.float32) for p in planes], axis=-1)
    check_finite(img, path)
    return check_negative(img, negative=negative, name=path.name)


def write_exr(path: Path, img: np.ndarray, *, half: bool) -> None:
    """Write ``(H, W, 1|3)`` float data as an EXR (ZIP compression, float or half channels)."""
    import OpenEXR

    dtype = np.float16 if half else np.float32
    names = ["Y"] if img.shape[2] == 1 else ["R", "G", "B"]
    channels = {n: np.ascontiguousarray(img[..., i], dtype=dtype) for i, n in enumerate(names)}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))
