"""Re-detection while LOST for the SiamFC family: search tiles over a widening area.

A tile is an ordinary search crop (side s_x at factor 1, resized to instance_size) centred
somewhere else. Its response map covers centre offsets up to ±(X − Z)/2 crop px, i.e.
±(X − Z)/(2X)·s_x image px, so tiles `tile_spacing` apart cover every position between them.
While LOST, every frame runs the ordinary search plus the next `per_frame` tiles of a grid
over the whole frame, nearest to the centre at the loss first (the search widens frame by
frame, then sweeps the whole frame and starts again), in one network batch. When the ordinary
step fails the status's recovery test and the best tile's peak passes it, the target jumps
there.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """The best tile of one re-detection step.

    tile: index of the tile; center: its centre (image px); raw_peak: its map's maximum;
    displacement: (dx, dy) of the peak from the tile's centre (image px); response: its map.
    """

    tile: int
    center: tuple
    raw_peak: float
    displacement: tuple
    response: np.ndarray


def tile_spacing(s_x: float, exemplar_size: int, instance_size: int) -> float:
    """Image px between neighbouring tile centres so their maps' coverage touches."""
    return (instance_size - exemplar_size) / instance_size * s_x


def search_order(center, spacing: float, image_shape) -> np.ndarray:
    """(M, 2) tile centres of a grid through `center` covering the image, nearest first
    (the first one is `center`)."""
    height, width = image_shape[:2]
    xs = grid_axis(center[0], spacing, width)
    ys = grid_axis(center[1], spacing, height)
    points = np.array([(x, y) for y in ys for x in xs], np.float64)
    order = np.argsort(np.hypot(*(points - np.asarray(center, np.float64)).T), kind='stable')
    return points[order]


def grid_axis(start: float, spacing: float, length: int) -> np.ndarray:
    """Positions start + k·spacing (integer k) within [−spacing/2, length + spacing/2]."""
    low = -int(np.floor((start + spacing / 2) / spacing))
    high = int(np.floor((length + spacing / 2 - start) / spacing))
    return start + spacing * np.arange(low, high + 1)


def frame_tiles(order: np.ndarray, step: int, per_frame: int) -> list:
    """The tiles searched on the `step`-th LOST frame: the next `per_frame` of order[1:]
    (order[0], the centre at the loss, is the ordinary search's), cycling."""
    rest = order[1:]
    count = min(per_frame, len(rest))
    picks = (step * count + np.arange(count)) % max(len(rest), 1)
    return [tuple(rest[i]) for i in picks]


def best_candidate(maps: np.ndarray, centers: np.ndarray, cell: float) -> Candidate:
    """The tile whose r×r map has the highest value, and its peak's offset; `cell` is image
    px per map cell (total_stride · s_x / X)."""
    peaks = maps.reshape(len(maps), -1).max(axis=1)
    tile = int(np.argmax(peaks))
    row, col = np.unravel_index(int(np.argmax(maps[tile])), maps[tile].shape)
    offset = (maps.shape[-1] - 1) / 2
    displacement = ((col - offset) * cell, (row - offset) * cell)
    return Candidate(tile, tuple(float(v) for v in centers[tile]), float(peaks[tile]),
                     displacement, maps[tile])


@dataclass(frozen=True)
class Widened:
    """A re-detecting frame's decoding: the ordinary decision (`local`, on `local_map`) and
    the best tile (`far`)."""

    local: object
    local_map: np.ndarray
    far: Candidate
