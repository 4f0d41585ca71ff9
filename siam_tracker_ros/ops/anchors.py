"""RPN anchors, channel layout and box encoding (spec §1.5; DASTSiam's one anchor, §7).

Boxes here are centre form (cx, cy, w, h) rows. A map of r×r cells with k anchors per cell
is laid out as in pysot: classification channel cls·k + a, regression channel d·k + a, and
the flat anchor index a·r² + i·r + j, so `maps.reshape(groups, k·r²)` lines up with the
flat anchor table of `anchor_grid(...).reshape(-1, 4)`.
"""
import math

import numpy as np

SIAMRPN_RATIOS = (0.33, 0.5, 1.0, 2.0, 3.0)
SIAMRPN_SCALES = (8.0,)


class AnchorError(ValueError):
    """Raised for anchor settings, maps or boxes that do not fit the §1.5 layout."""


def anchor_sizes(ratios=SIAMRPN_RATIOS, scales=SIAMRPN_SCALES, stride: int = 8) -> np.ndarray:
    """(k, 2) anchor (w, h), ratio-major (a = ratio index · len(scales) + scale index).

    For ratio ρ = h/w: ws = int(√(stride²/ρ)), hs = int(ws·ρ), then (ws·σ, hs·σ) per scale σ.
    The defaults give (104, 32), (88, 40), (64, 64), (40, 80), (32, 96); ratio 1 and
    scale 8 alone give DASTSiam's single 64×64 anchor.
    """
    if not ratios or not scales or min(ratios) <= 0 or min(scales) <= 0 or stride < 1:
        raise AnchorError(f'need positive ratios, scales and stride, got {ratios}, {scales}, '
                          f'{stride}')
    sizes = []
    for ratio in ratios:
        ws = int(math.sqrt(stride * stride / ratio))
        hs = int(ws * ratio)
        sizes.extend((ws * scale, hs * scale) for scale in scales)
    return np.array(sizes, dtype=np.float64)


def cell_offsets(map_size: int, stride: int = 8) -> np.ndarray:
    """(r,) cell centre offsets from the crop centre, stride·(j − ⌊r/2⌋)."""
    return stride * (np.arange(map_size) - map_size // 2).astype(np.float64)


def cell_origin(input_size: int, map_size: int, stride: int = 8) -> float:
    """Crop pixel of cell 0's centre: (X − 1)/2 − stride·⌊r/2⌋ (47 for X = 287, r = 25)."""
    return (input_size - 1) / 2 - stride * (map_size // 2)


def anchor_grid(sizes: np.ndarray, map_size: int, stride: int = 8,
                center: float = 0.0) -> np.ndarray:
    """(k, r, r, 4) anchors (cx, cy, w, h); cell (i, j) is centred at `center` + offsets.

    `center` = 0 gives anchors relative to the crop centre (tracking, §1.5); (X − 1)/2 gives
    crop pixels (training labels).
    """
    sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    if map_size < 1:
        raise AnchorError(f'map size must be >= 1, got {map_size}')
    offsets = center + cell_offsets(map_size, stride)
    grid = np.empty((len(sizes), map_size, map_size, 4))
    grid[..., 0] = offsets[None, None, :]
    grid[..., 1] = offsets[None, :, None]
    grid[..., 2:] = sizes[:, None, None, :]
    return grid


def class_channel(cls: int, anchor: int, num_anchors: int) -> int:
    """Classification channel cls·k + a (cls 0 background, 1 foreground)."""
    return cls * num_anchors + anchor


def delta_channel(delta: int, anchor: int, num_anchors: int) -> int:
    """Regression channel d·k + a, d = 0…3 for (dx, dy, dw, dh)."""
    return delta * num_anchors + anchor


def flat_index(anchor, row, col, map_size: int):
    """Flat anchor index a·r² + i·r + j (works on ints and integer arrays)."""
    return (anchor * map_size + row) * map_size + col


def unflat_index(index, map_size: int):
    """(a, i, j) from a flat anchor index, the inverse of `flat_index`."""
    anchor, rest = divmod(index, map_size * map_size)
    row, col = divmod(rest, map_size)
    return anchor, row, col


def split_channels(maps, groups: int):
    """A (…, groups·k, r, r) map as (…, groups, k·r²), flat index a·r² + i·r + j.

    Works on numpy arrays and torch tensors: groups = 2 for cls maps, 4 for reg maps.
    """
    if maps.shape[-3] % groups or maps.shape[-1] != maps.shape[-2]:
        raise AnchorError(f'map of shape {tuple(maps.shape)} is not ({groups}k)×r×r')
    return maps.reshape(*maps.shape[:-3], groups, -1)


def encode(boxes, anchors) -> np.ndarray:
    """Deltas (dx, dy, dw, dh) of boxes against anchors, both (…, 4) centre form (§1.5)."""
    boxes, anchors = np.asarray(boxes, np.float64), np.asarray(anchors, np.float64)
    deltas = np.empty(np.broadcast_shapes(boxes.shape, anchors.shape))
    deltas[..., :2] = (boxes[..., :2] - anchors[..., :2]) / anchors[..., 2:]
    deltas[..., 2:] = np.log(boxes[..., 2:] / anchors[..., 2:])
    return deltas


def decode(deltas, anchors) -> np.ndarray:
    """Boxes (cx, cy, w, h) from deltas and anchors, the exact inverse of `encode`."""
    deltas, anchors = np.asarray(deltas, np.float64), np.asarray(anchors, np.float64)
    boxes = np.empty(np.broadcast_shapes(deltas.shape, anchors.shape))
    boxes[..., :2] = deltas[..., :2] * anchors[..., 2:] + anchors[..., :2]
    boxes[..., 2:] = np.exp(deltas[..., 2:]) * anchors[..., 2:]
    return boxes
