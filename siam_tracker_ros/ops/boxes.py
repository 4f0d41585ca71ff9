"""Box conventions (spec §1.1): 0-based `xywh` outside, centre form (cx, cy, w, h) inside.

The centre of a box covering columns x … x+w−1 is cx = x + (w−1)/2.
"""
import numpy as np


def xywh_to_cxcywh(box):
    """(x, y, w, h) -> (cx, cy, w, h). Works on a 4-sequence or an (N, 4) array."""
    b = np.asarray(box, dtype=np.float64)
    out = b.copy()
    out[..., 0] = b[..., 0] + (b[..., 2] - 1) / 2
    out[..., 1] = b[..., 1] + (b[..., 3] - 1) / 2
    return out if out.ndim > 1 else tuple(float(v) for v in out)


def cxcywh_to_xywh(box):
    """(cx, cy, w, h) -> (x, y, w, h), the exact inverse of `xywh_to_cxcywh`."""
    b = np.asarray(box, dtype=np.float64)
    out = b.copy()
    out[..., 0] = b[..., 0] - (b[..., 2] - 1) / 2
    out[..., 1] = b[..., 1] - (b[..., 3] - 1) / 2
    return out if out.ndim > 1 else tuple(float(v) for v in out)


def xywh_to_xyxy(box):
    """(x, y, w, h) -> (x1, y1, x2, y2) with x2 = x + w (exclusive corner)."""
    b = np.asarray(box, dtype=np.float64)
    out = b.copy()
    out[..., 2] = b[..., 0] + b[..., 2]
    out[..., 3] = b[..., 1] + b[..., 3]
    return out if out.ndim > 1 else tuple(float(v) for v in out)


def clip_xywh(box, width, height):
    """Intersect an `xywh` box with the image [0, width) x [0, height)."""
    x1, y1, x2, y2 = xywh_to_xyxy(box)
    x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
    y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
    return (x1, y1, x2 - x1, y2 - y1)
