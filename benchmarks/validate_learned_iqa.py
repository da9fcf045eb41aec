"""MUSIQ and DBCNN with your checkpoints: correlation with human opinion on Ma et al. 2015,
and (optionally) agreement with pyiqa on the same images.

    python benchmarks/validate_learned_iqa.py --musiq musiq_koniq_ckpt-e95806b9.pth \\
        --dbcnn DBCNN_KonIQ10k-2de81c0a.pth [--pyiqa] [--limit N] [--device cpu]

expokit ships no weights for these networks. Give pyiqa's released checkpoint files (the
defaults come from ``$EXPOKIT_MUSIQ_CHECKPOINT`` / ``$EXPOKIT_DBCNN_CHECKPOINT``); a metric
without one is skipped with a message, and with neither the script only says so and exits 0.

For each metric it scores the 136 fused images of Ma, Zeng & Wang's MEF database (IEEE TIP
2015, ``$EXPOKIT_DATA/ma2015``) and prints the Spearman (SRCC) and Pearson (PLCC)
correlation with the mean opinion scores, over all images and as the mean over the 17
sequences (MOS ranks the 8 fused images of one scene). Both networks were trained for generic
(KonIQ-10k etc.) quality, not for exposure fusion, so these numbers say how well they transfer.

With ``--pyiqa``, and when the ``pyiqa`` package (IQA-PyTorch) can be imported, the same
images (as the same float tensors) are also scored by ``pyiqa.create_metric(name,
pretrained_model_path=<your file>)`` and the largest absolute difference is printed: this is
how a user who has both can check that expokit's re-implementation gives pyiqa's numbers.
Note that pyiqa's DBCNN constructor fetches torchvision's VGG-16 and its own S-CNN weights
(from its cache, or the internet) before your checkpoint overwrites them; expokit does not.

Runs on one thread unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.bench.datasets import load_ma2015  # noqa: E402
from expokit.errors import ExpokitError  # noqa: E402
from expokit.io import read_image  # noqa: E402
from expokit.metrics import learned  # noqa: E402

#: pyiqa's metric name for each of ours (its defaults are the KonIQ-10k checkpoints).
PYIQA_NAMES = {"musiq": "musiq", "dbcnn": "dbcnn"}


def _corr(x: list[float], y: list[float]) -> tuple[float, float]:
    return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def _pyiqa_metric(name: str, path: Path, device: str):  # noqa: ANN202 (pyiqa's own type)
    """pyiqa's metric with the user's checkpoint, or None (with a message) when unavailable."""
    try:
        import pyiqa
    except Exception as exc:  # ImportError, or torchvision failing beside this torch build
        print(f"  pyiqa comparison skipped: pyiqa cannot be imported ({type(exc).__name__}: "
              f"{exc})")
        return None
    kwargs: dict[str, object] = {"pretrained_model_path": str(path)}
    if name == "musiq":
        classes = learned.load_model("musiq", path).config.num_classes
        if classes != 1:
            kwargs["num_class"] = classes
    return pyiqa.create_metric(PYIQA_NAMES[name], device=device, **kwargs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--musiq", type=Path, default=os.environ.get("EXPOKIT_MUSIQ_CHECKPOINT"),
                    help="pyiqa MUSIQ checkpoint (default $EXPOKIT_MUSIQ_CHECKPOINT)")
    ap.add_argument("--dbcnn", type=Path, default=os.environ.get("EXPOKIT_DBCNN_CHECKPOINT"),
                    help="pyiqa DBCNN checkpoint (default $EXPOKIT_DBCNN_CHECKPOINT)")
    ap.add_argument("--pyiqa", action="store_true",
                    help="also score with pyiqa (if importable) and print the differences")
    ap.add_argument("--limit", type=int, default=None, help="only the first N sequences")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = ap.parse_args()

    checkpoints = {n: p for n, p in (("musiq", args.musiq), ("dbcnn", args.dbcnn)) if p}
    if not checkpoints:
        print("skipped: no checkpoint given. expokit ships no MUSIQ/DBCNN weights; pass "
              "--musiq PATH and/or --dbcnn PATH (pyiqa's musiq_koniq_ckpt-e95806b9.pth, "
              "DBCNN_KonIQ10k-2de81c0a.pth) or set EXPOKIT_MUSIQ_CHECKPOINT / "
              "EXPOKIT_DBCNN_CHECKPOINT.")
        return 0
    root = data_root() / "ma2015"
    if not (root / "MOS.mat").is_file():
        print(f"skipped: {root} is not there (set EXPOKIT_DATA to the folder holding ma2015/)")
        return 0

    import torch

    torch.set_num_threads(args.threads)
    items = load_ma2015(root)[: args.limit]
    images = [(it.name, m, path, it.mos[m]) for it in items for m, path in it.fused.items()]
    print(f"Ma 2015: {len(items)} sequences, {len(images)} fused images; device {args.device}, "
          f"{args.threads} thread(s)")

    for name, path in checkpoints.items():
        print(f"\n{name}: {path}")
        try:
            learned.load_model(name, path, args.device)  # fail early, outside the timing
        except ExpokitError as exc:
            print(f"  skipped: {exc}")
            continue
        function = learned.musiq if name == "musiq" else learned.dbcnn
        ours: list[float] = []
        start = time.perf_counter()
        arrays = []
        for _seq, _method, file, _mos in images:
            img = read_image(file)
            arrays.append(img)
            ours.append(function(img, checkpoint=path, device=args.device))
        per_image = (time.perf_counter() - start) / len(images)
        mos = [m for *_, m in images]
        plcc, srcc = _corr(ours, mos)
        per_seq = []
        for it in items:
            idx = [k for k, (s, *_rest) in enumerate(images) if s == it.name]
            per_seq.append(_corr([ours[k] for k in idx], [mos[k] for k in idx]))
        mean_plcc = float(np.nanmean([p for p, _ in per_seq]))
        mean_srcc = float(np.nanmean([s for _, s in per_seq]))
        print(f"  scores {min(ours):.4g} .. {max(ours):.4g}, {per_image:.2f} s per image")
        print(f"  all {len(images)} images:      SRCC {srcc:+.3f}  PLCC {plcc:+.3f}")
        print(f"  mean over {len(items)} sequences: SRCC {mean_srcc:+.3f}  PLCC {mean_plcc:+.3f}")

        if args.pyiqa:
            metric = _pyiqa_metric(name, path, args.device)
            if metric is None:
                continue
            theirs = []
            with torch.no_grad():
                for img in arrays:
                    scale = 65535.0 if img.dtype == np.uint16 else 255.0
                    img = np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img
                    t = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / scale)
                    theirs.append(float(metric(t[None].to(args.device))))
            diff = np.abs(np.array(ours) - np.array(theirs))
            rel = diff / np.maximum(np.abs(np.array(theirs)), 1e-12)
            print(f"  vs pyiqa: max |diff| {diff.max():.3g} (relative {rel.max():.3g}), "
                  f"SRCC(ours, pyiqa) {stats.spearmanr(ours, theirs)[0]:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
