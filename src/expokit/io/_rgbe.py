"""Radiance RGBE (``.hdr`` / ``.pic``) reading and writing, written by hand.

Why not a library: OpenCV refuses real-world Radiance files whose header does not start with
the ``#?`` magic (Debevec's ``memorial.hdr`` begins with a ``VIEW=`` line), and imageio needs a
FreeImage plugin downloaded at run time. The format is small (Ward, "Real Pixels", Graphics
Gems II, 1991; Radiance ``color.c`` / ``header.c`` / ``resolu.c``), so expokit parses it itself.

Layout of a file:

* a text header of ``\\n``-terminated lines ended by an empty line. It holds the ``#?RADIANCE``
  (or ``#?RGBE``, or ``#?<program>``) magic, ``FORMAT=32-bit_rle_rgbe``, optional
  ``EXPOSURE=`` and ``COLORCORR=`` lines, and free text (command lines such as ``pflip -v``);
* a resolution string such as ``-Y 768 +X 512``;
* scanlines of 4-byte RGBE pixels, each one flat, old-style run-length encoded or new-style
  (adaptive, per component) run-length encoded.

Decoding convention: a pixel ``(r, g, b, e)`` with ``e > 0`` is ``(m + 0.5) / 256 * 2**(e - 128)``
per channel ``m`` (Radiance's ``colr_color``: the centre of the quantisation bin, because its
encoder truncates); ``e == 0`` is black. OpenCV, stb_image and Walter's ``rgbe.c`` use ``m``
instead of ``m + 0.5``; their values are lower by ``2**(e - 137)``, i.e. at most 0.4 % of the
pixel's largest channel. ``rgbe_to_float(rgbe, offset=0.0)`` reproduces them bit for bit.

Radiance units: ``EXPOSURE=`` lines record factors that a program (``pfilt``, ``ra_xyze``...)
multiplied the pixels by; their product is divided out so that the result is radiance
(watts/steradian/m^2 per channel for physically based renderings, relative units otherwise).
``COLORCORR=`` factors are divided out per channel the same way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

logger = logging.getLogger(__name__)

#: Largest header expokit accepts before the resolution string; real headers are < 4 KiB.
_MAX_HEADER = 1 << 20
#: New-style RLE is only defined for scanline widths in this range (Radiance MINELEN/MAXELEN).
_MIN_RLE_WIDTH = 8
_MAX_RLE_WIDTH = 0x7FFF
#: Shortest run the encoder stores as a run (shorter runs go into literal chunks).
_MIN_RUN = 4

_RES_RE = re.compile(rb"^([-+])([XY])\s+(\d+)\s+([-+])([XY])\s+(\d+)\s*$")


def _fail(path: Path, what: str, fix: str = "re-export it or check the download") -> InputError:
    return InputError(f"{path.name}: {what}; {fix}")


@dataclass(frozen=True)
class RgbeHeader:
    """What expokit uses from a Radiance header.

    Attributes:
        exposure: product of the ``EXPOSURE=`` values (1.0 when there is none).
        colorcorr: per-channel product of the ``COLORCORR=`` values.
        format: the ``FORMAT=`` value, None when the line is absent.
        major: (axis, sign, size) of the first resolution axis (the scanline axis).
        minor: (axis, sign, size) of the second axis (along each scanline).
    """

    exposure: float
    colorcorr: tuple[float, float, float]
    format: str | None
    major: tuple[str, str, int]
    minor: tuple[str, str, int]


def _parse_header(data: bytes, path: Path) -> tuple[RgbeHeader, int]:
    """Parse the text header and the resolution string.

    Returns:
        The header and the offset of the first pixel byte.
    """
    pos = 0
    magic = False
    fmt: str | None = None
    exposure = 1.0
    colorcorr = np.ones(3, dtype=np.float64)
    while True:
        end = data.find(b"\n", pos, _MAX_HEADER)
        if end < 0:
            raise _fail(path, "no end of the Radiance header found (is it an RGBE .hdr file?)")
        line = data[pos:end].rstrip(b"\r")
        pos = end + 1
        if not line:
            break
        if line.startswith(b"#?"):
            magic = True
        elif line.startswith(b"FORMAT="):
            fmt = line[7:].strip().decode("ascii", "replace")
        elif line.startswith(b"EXPOSURE="):
            try:
                value = float(line[9:].strip())
            except ValueError:
                raise _fail(path, f"bad header line {line[:60]!r}") from None
            if not np.isfinite(value) or value <= 0:
                raise _fail(path, f"header line {line[:60]!r} must be a positive factor")
            exposure *= value
        elif line.startswith(b"COLORCORR="):
            try:
                values = [float(v) for v in line[10:].split()]
            except ValueError:
                raise _fail(path, f"bad header line {line[:60]!r}") from None
            if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
                raise _fail(path, f"header line {line[:60]!r} must hold 3 positive factors")
            colorcorr *= values
    if not magic and fmt is None:
        raise _fail(
            path,
            "no '#?RADIANCE' magic and no FORMAT= line in the header (not a Radiance RGBE file)",
            "give a .hdr file written by Radiance, OpenCV or Photoshop",
        )
    if fmt is not None and fmt != "32-bit_rle_rgbe":
        if fmt == "32-bit_rle_xyze":
            raise _fail(
                path, "holds XYZE pixels, expokit reads RGBE only", "convert it with `ra_xyze -r`"
            )
        raise _fail(path, f"unknown pixel FORMAT={fmt}", "expokit reads 32-bit_rle_rgbe")
    end = data.find(b"\n", pos, pos + 256)
    if end < 0:
        raise _fail(path, "no resolution string after the header (file truncated?)")
    m = _RES_RE.match(data[pos:end].rstrip(b"\r"))
    if m is None or m.group(2) == m.group(5):
        raise _fail(
            path,
            f"bad resolution string {data[pos:end][:40]!r}, expected e.g. '-Y 768 +X 512'",
        )
    major = (m.group(2).decode(), m.group(1).decode(), int(m.group(3)))
    minor = (m.group(5).decode(), m.group(4).decode(), int(m.group(6)))
    if major[2] < 1 or minor[2] < 1:
        raise _fail(path, f"empty image ({major[2]}x{minor[2]} pixels)")
    corr = (float(colorcorr[0]), float(colorcorr[1]), float(colorcorr[2]))
    return RgbeHeader(exposure, corr, fmt, major, minor), end + 1


#: Bytes of new-style scanlines gathered per vectorised step (bounds the index arrays' memory).
_BLOCK_BYTES = 1 << 22


class _Segments:
    """Run-length segments of a block of new-style scanlines, gathered in one NumPy step.

    A segment copies ``length`` bytes from ``src`` (a literal) or repeats the byte at ``src``
    (a run) into the block's planar ``(lines, 4, width)`` buffer at ``dst``.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.src: list[int] = []
        self.dst: list[int] = []
        self.length: list[int] = []
        self.literal: list[int] = []
        self.lines: list[int] = []  # image rows in this block, in order

    def flush(self, buf: np.ndarray, out: np.ndarray) -> None:
        if not self.lines:
            return
        width = out.shape[1]
        planar = np.zeros(len(self.lines) * 4 * width, dtype=np.uint8)
        lengths = np.asarray(self.length, dtype=np.int64)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        offset = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
        literal = np.repeat(np.asarray(self.literal, dtype=np.int64), lengths)
        src = np.repeat(np.asarray(self.src, dtype=np.int64), lengths) + offset * literal
        dst = np.repeat(np.asarray(self.dst, dtype=np.int64), lengths) + offset
        planar[dst] = buf[src]
        out[self.lines] = planar.reshape(len(self.lines), 4, width).transpose(0, 2, 1)
        self.reset()


def _decode_scanlines(data: bytes, pos: int, n_lines: int, width: int, path: Path) -> np.ndarray:
    """Decode ``n_lines`` scanlines of ``width`` pixels into a ``(n_lines, width, 4)`` array.

    The byte walk over run headers is sequential by nature and stays in Python; the pixel bytes
    are then gathered in vectorised steps (one per few MiB of pixels), so the Python work is one
    small step per run.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    n = len(data)
    out = np.zeros((n_lines, width, 4), dtype=np.uint8)
    seg = _Segments()
    lines_per_block = max(1, _BLOCK_BYTES // (4 * width))
    rle_ok = _MIN_RLE_WIDTH <= width <= _MAX_RLE_WIDTH
    for y in range(n_lines):
        if pos + 4 > n:
            raise _fail(path, f"file ends at scanline {y + 1} of {n_lines} (truncated)")
        b0, b1, b2, b3 = data[pos : pos + 4]
        if not (rle_ok and b0 == 2 and b1 == 2 and not b2 & 0x80):
            pos = _decode_old_scanline(data, buf, pos, out[y], y, path)
            continue
        if (b2 << 8 | b3) != width:
            raise _fail(
                path,
                f"scanline {y + 1} claims {b2 << 8 | b3} pixels, expected {width} (corrupt)",
            )
        pos += 4
        block_row = len(seg.lines)
        seg.lines.append(y)
        for c in range(4):
            dst = (block_row * 4 + c) * width
            x = 0
            while x < width:
                if pos >= n:
                    raise _fail(path, f"file ends in scanline {y + 1} (truncated)")
                count = data[pos]
                seg.src.append(pos + 1)
                if count > 128:
                    count -= 128
                    seg.literal.append(0)
                    pos += 2
                else:
                    if count == 0:
                        raise _fail(path, f"zero-length run in scanline {y + 1} (corrupt)")
                    seg.literal.append(1)
                    pos += 1 + count
                if x + count > width:
                    raise _fail(path, f"run overflows scanline {y + 1} (corrupt)")
                seg.dst.append(dst + x)
                seg.length.append(count)
                x += count
        if pos > n:
            raise _fail(path, f"file ends in scanline {y + 1} (truncated)")
        if len(seg.lines) >= lines_per_block:
            seg.flush(buf, out)
    seg.flush(buf, out)
    if pos < n:
        logger.debug("%s: %d trailing bytes after the last scanline ignored", path.name, n - pos)
    return out


def _decode_old_scanline(
    data: bytes, buf: np.ndarray, pos: int, line: np.ndarray, y: int, path: Path
) -> int:
    """Decode one flat or old-style RLE scanline into ``line`` (width, 4); return the new pos."""
    width = line.shape[0]
    n = len(data)
    avail = min(width, (n - pos) // 4)
    records = buf[pos : pos + 4 * avail].reshape(avail, 4)
    repeat = (records[:, 0] == 1) & (records[:, 1] == 1) & (records[:, 2] == 1)
    if avail == width and not repeat.any():  # flat scanline: the common case, vectorised
        line[:] = records
        return pos + 4 * width
    # Old-style RLE: (1, 1, 1, n) repeats the previous pixel n << shift times, where shift grows
    # by 8 for each consecutive repeat record.
    x = 0
    shift = 0
    while x < width:
        if pos + 4 > n:
            raise _fail(path, f"file ends in scanline {y + 1} (truncated)")
        r, g, b, e = data[pos : pos + 4]
        pos += 4
        if r == 1 and g == 1 and b == 1:
            if x == 0:
                raise _fail(path, f"scanline {y + 1} starts with a repeat record (corrupt)")
            count = e << shift
            if x + count > width:
                raise _fail(path, f"repeat overflows scanline {y + 1} (corrupt)")
            line[x : x + count] = line[x - 1]
            x += count
            shift += 8
        else:
            line[x] = (r, g, b, e)
            x += 1
            shift = 0
    return pos


def _orient(
    pixels: np.ndarray, major: tuple[str, str, int], minor: tuple[str, str, int]
) -> np.ndarray:
    """Turn scanline order into image order: rows top to bottom, columns left to right.

    Radiance's +Y points up and +X right; the first axis of the resolution string is the one
    the scanlines are stacked along (``-Y H +X W``: H scanlines from the top, each W pixels
    from the left). The other seven orientations are flips and a transpose of that one.
    """
    img = pixels
    if major[0] == "X":  # scanlines are columns
        img = img.transpose(1, 0, 2)
    y_sign = major[1] if major[0] == "Y" else minor[1]
    x_sign = major[1] if major[0] == "X" else minor[1]
    if y_sign == "+":
        img = img[::-1]
    if x_sign == "-":
        img = img[:, ::-1]
    return np.ascontiguousarray(img)


def rgbe_to_float(rgbe: np.ndarray, offset: float = 0.5) -> np.ndarray:
    """Convert RGBE bytes ``(..., 4)`` to float32 RGB ``(..., 3)``.

    Args:
        rgbe: uint8 array whose last axis is (r, g, b, e).
        offset: added to each mantissa: 0.5 is Radiance's convention (the default), 0.0 the one
            of OpenCV, stb_image and ``rgbe.c``.

    Returns:
        float32 ``(m + offset) * 2**(e - 136)`` per channel, 0 where ``e == 0``.

    >>> rgbe_to_float(np.array([[128, 64, 0, 129]], dtype=np.uint8)).tolist()
    [[1.00390625, 0.50390625, 0.00390625]]
    """
    e = rgbe[..., 3].astype(np.int32)
    scale = np.ldexp(np.float32(1.0), e - 136).astype(np.float32)
    scale[e == 0] = 0.0
    return (rgbe[..., :3].astype(np.float32) + np.float32(offset)) * scale[..., None]


def parse_rgbe_header(path: Path) -> RgbeHeader:
    """Parse only the header and resolution string of a Radiance file.

    Raises:
        InputError: if the file is unreadable or not a Radiance RGBE file.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_HEADER + 256)
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror})", "check its permissions") from None
    return _parse_header(data, path)[0]


def read_rgbe_bytes(path: Path) -> tuple[np.ndarray, RgbeHeader]:
    """Read a Radiance file into RGBE bytes in image order and its parsed header.

    Returns:
        ``(rgbe, header)``: uint8 ``(H, W, 4)`` (rows top to bottom) and the parsed header.

    Raises:
        InputError: if the file is not a readable Radiance RGBE file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror})", "check its permissions") from None
    header, pos = _parse_header(data, path)
    pixels = _decode_scanlines(data, pos, header.major[2], header.minor[2], path)
    return _orient(pixels, header.major, header.minor), header


def read_rgbe(path: Path) -> np.ndarray:
    """Read a Radiance ``.hdr`` file as float32 linear RGB radiance ``(H, W, 3)``.

    Pixels are decoded with Radiance's ``(m + 0.5)`` convention and divided by the product of
    the header's ``EXPOSURE=`` values (and per channel by ``COLORCORR=``).

    Raises:
        InputError: if the file is not a readable Radiance RGBE file.
    """
    rgbe, header = read_rgbe_bytes(path)
    img = rgbe_to_float(rgbe, 0.5)
    corr = np.asarray(header.colorcorr, dtype=np.float64) * header.exposure
    if not np.all(corr == 1.0):
        logger.debug("%s: dividing by EXPOSURE/COLORCORR %s", path.name, corr.tolist())
        img = (img / corr.astype(np.float32)).astype(np.float32)
    if not np.isfinite(img).all():  # only possible with tiny EXPOSURE= factors
        bad = int(np.count_nonzero(~np.isfinite(img)))
        raise _fail(path, f"decodes to {bad} infinite values (EXPOSURE= too small?)")
    return img


def float_to_rgbe(radiance: np.ndarray) -> np.ndarray:
    """Encode float RGB ``(..., 3)`` >= 0 into RGBE bytes ``(..., 4)`` (Radiance ``setcolr``).

    The largest channel sets the shared exponent; mantissas are truncated, which together with
    the ``m + 0.5`` decoding puts each value in the middle of its quantisation bin. Values below
    1e-32 become black; values at or above 2**127 saturate.
    """
    rgb = np.maximum(radiance.astype(np.float64), 0.0)
    peak = rgb.max(axis=-1)
    mant, exp = np.frexp(peak)
    big = exp > 127
    exp = np.where(big, 127, exp)
    mant = np.where(big, 255.99 / 256.0, mant)
    tiny = peak <= 1e-32
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(tiny | big, 0.0, mant * 256.0 / np.where(tiny, 1.0, peak))
    m = np.floor(rgb * scale[..., None])
    m = np.where(big[..., None], np.where(rgb >= peak[..., None], 255.0, m), m)
    out = np.empty(radiance.shape[:-1] + (4,), dtype=np.uint8)
    out[..., :3] = np.clip(m, 0, 255).astype(np.uint8)
    out[..., 3] = np.where(tiny, 0, exp + 128).astype(np.uint8)
    out[tiny] = 0
    return out


def _encode_rle(rgbe: np.ndarray) -> bytes:
    """Encode ``(H, W, 4)`` RGBE bytes as new-style RLE scanlines (vectorised).

    Each scanline is ``2, 2, W >> 8, W & 255`` followed by its four components in turn, each a
    sequence of chunks: a run (``128 + n``, value; n <= 127) or a literal (``n``, n bytes;
    n <= 128). Runs shorter than 4 bytes go into literals.
    """
    h, w, _ = rgbe.shape
    v = np.ascontiguousarray(rgbe.transpose(0, 2, 1)).reshape(-1)  # rows: (scanline, component)
    size = v.size
    idx = np.arange(size)
    row_start = idx % w == 0
    change = np.ones(size, dtype=bool)
    change[1:] = v[1:] != v[:-1]
    run_start = change | row_start
    # Length of the run each position belongs to, to mark positions inside long runs.
    starts = np.flatnonzero(run_start)
    lengths = np.diff(np.append(starts, size))
    in_long = np.repeat(lengths >= _MIN_RUN, lengths)
    # Pieces: maximal spans of one kind within a row; each long run is a piece of its own.
    kind_change = np.ones(size, dtype=bool)
    kind_change[1:] = in_long[1:] != in_long[:-1]
    piece_start = row_start | kind_change | (in_long & run_start)
    ps = np.flatnonzero(piece_start)
    pl = np.diff(np.append(ps, size))
    pk = in_long[ps]
    # Split pieces into chunks of at most 127 (runs) or 128 (literals) bytes.
    limit = np.where(pk, 127, 128)
    nchunks = -(-pl // limit)
    first = np.zeros(len(ps), dtype=np.int64)
    np.cumsum(nchunks[:-1], out=first[1:])
    j = np.arange(int(nchunks.sum())) - np.repeat(first, nchunks)
    climit = np.repeat(limit, nchunks)
    cs = np.repeat(ps, nchunks) + j * climit
    cl = np.minimum(climit, np.repeat(ps + pl, nchunks) - cs)
    ck = np.repeat(pk, nchunks)
    csize = np.where(ck, 2, 1 + cl)
    # Each scanline gets a 4-byte prefix before its first chunk.
    scan = cs // (4 * w)
    off = np.zeros(len(cs), dtype=np.int64)
    np.cumsum(csize[:-1], out=off[1:])
    off += 4 * (scan + 1)
    out = np.empty(int(csize.sum()) + 4 * h, dtype=np.uint8)
    first_chunk = np.searchsorted(cs, np.arange(h) * 4 * w)
    prefix = off[first_chunk] - 4
    out[prefix] = 2
    out[prefix + 1] = 2
    out[prefix + 2] = w >> 8
    out[prefix + 3] = w & 0xFF
    out[off] = np.where(ck, 128 + cl, cl).astype(np.uint8)
    out[off[ck] + 1] = v[cs[ck]]
    lit = ~ck
    ll = cl[lit]
    lfirst = np.zeros(len(ll), dtype=np.int64)
    np.cumsum(ll[:-1], out=lfirst[1:])
    k = np.arange(int(ll.sum())) - np.repeat(lfirst, ll)
    out[np.repeat(off[lit] + 1, ll) + k] = v[np.repeat(cs[lit], ll) + k]
    return out.tobytes()


def encode_rgbe_file(radiance: np.ndarray) -> bytes:
    """The bytes of a Radiance file holding ``radiance`` (float ``(H, W, 3)``, finite, >= 0).

    Negative values are clipped to 0 (RGBE has no sign). Widths from 8 to 32767 use new-style
    RLE, other widths flat scanlines, as Radiance itself does.
    """
    h, w, _ = radiance.shape
    rgbe = float_to_rgbe(radiance)
    header = (
        b"#?RADIANCE\n# written by expokit\nFORMAT=32-bit_rle_rgbe\n\n"
        + f"-Y {h} +X {w}\n".encode("ascii")
    )
    if not _MIN_RLE_WIDTH <= w <= _MAX_RLE_WIDTH:
        return header + rgbe.tobytes()
    # Scanlines are independent: encode blocks of them to bound the temporary arrays' memory.
    step = max(1, _BLOCK_BYTES // (4 * w))
    return header + b"".join(_encode_rle(rgbe[i : i + step]) for i in range(0, h, step))
