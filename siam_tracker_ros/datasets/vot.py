"""VOT short-term datasets (VOT2013-VOT2019 layout).

Layout: `<root>/list.txt`, `<root>/<seq>/groundtruth.txt` and frames in `<seq>/color/` or
directly in `<seq>/`. Each ground-truth line is a polygon `x1,y1,...,x4,y4` (rotated
rectangles) or a rectangle `x,y,w,h`; rectangles become 4-corner polygons. Source convention:
the VOT toolkit's MATLAB (1-based) origin, the same as the dev set's VOT clips, so 1 is
subtracted. The polygon is kept in `Sequence.polygons` for overlap; `Sequence.boxes` is the
tight axis-aligned box around it (`x = min xi, w = max xi - min xi`). Mask annotations
(VOT2020+) are not supported. Per-frame tags (`camera_motion.tag`, ...) become attributes.
"""
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import (DatasetError, check_counts, list_images,
                                              read_lines, read_list)

ONE_BASED = True


def is_vot(root) -> bool:
    """True when `root/list.txt` names folders with a `groundtruth.txt`."""
    root = Path(root)
    if not (root / 'list.txt').is_file():
        return False
    names = read_list(root / 'list.txt')
    return bool(names) and (root / names[0] / 'groundtruth.txt').is_file()


def rect_to_polygon(boxes) -> np.ndarray:
    """(N, 4) `xywh` -> (N, 8) corners clockwise from the top-left."""
    x, y, w, h = (boxes[:, i] for i in range(4))
    return np.stack([x, y, x + w, y, x + w, y + h, x, y + h], axis=1)


def polygon_to_rect(polygons) -> np.ndarray:
    """(N, 8) polygons -> (N, 4) tight axis-aligned `xywh` boxes."""
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def _polygon(row) -> np.ndarray:
    """One 1-based line (4 or 8 values) -> a 0-based 8-value polygon."""
    row = np.asarray(row, dtype=np.float64)
    if len(row) == 4:
        return rect_to_polygon((row - [1.0, 1.0, 0.0, 0.0])[None])[0]
    return row - 1.0


def read_vot_sequence(folder) -> Sequence:
    """Read one VOT sequence folder."""
    folder = Path(folder)
    gt_path = folder / 'groundtruth.txt'
    regions = np.array([_polygon(row) for _, row in read_lines(gt_path, ncols=(4, 8))])
    frame_dir = folder / 'color' if (folder / 'color').is_dir() else folder
    frames = list_images(frame_dir)
    check_counts(frames, regions, gt_path, frame_dir)
    tags = tuple(sorted(p.stem for p in folder.glob('*.tag')
                        if p.stem != 'empty' and '1' in p.read_text()))
    return Sequence(name=folder.name, frames=tuple(str(f) for f in frames),
                    boxes=polygon_to_rect(regions), polygons=regions, attributes=tags)


def read_vot(root) -> list:
    """Read the sequences named in `root/list.txt`."""
    root = Path(root)
    names = read_list(root / 'list.txt')
    missing = next((n for n in names if not (root / n / 'groundtruth.txt').is_file()), None)
    if missing is not None:
        raise DatasetError(f'{root / "list.txt"}: listed sequence {missing!r} has no '
                           f'groundtruth.txt')
    return [read_vot_sequence(root / n) for n in names]
