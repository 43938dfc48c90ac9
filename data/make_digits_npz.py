"""Rebuild data/digits.npz from scikit-learn's copy of the UCI digits.

Run once by a maintainer (scikit-learn is not a requirement of the workbook):

    pip download scikit-learn --no-deps -d /tmp/skl
    unzip -p /tmp/skl/scikit_learn-*.whl sklearn/datasets/data/digits.csv.gz > /tmp/digits.csv.gz
    python data/make_digits_npz.py /tmp/digits.csv.gz data/digits.npz

The CSV has one row per image: 64 pixel counts in 0..16, then the label 0..9.
"""

import gzip
import sys

import numpy as np


def main(src: str, dst: str) -> None:
    with gzip.open(src, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    if table.shape != (1797, 65):
        raise SystemExit(f"expected 1797 rows of 65 values, got {table.shape}")
    pixels = table[:, :64].astype(np.uint8)  # (1797, 64), one image per row as in the source
    labels = table[:, 64].astype(np.uint8)   # (1797,)
    np.savez_compressed(dst, pixels=pixels, labels=labels)


if __name__ == "__main__":
    main(*sys.argv[1:3])
