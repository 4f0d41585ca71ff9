"""TrackingNet (Müller et al., ECCV 2018).

Layout: `<root>/<CHUNK>/anno/<seq>.txt` and `<root>/<CHUNK>/frames/<seq>/0.jpg, 1.jpg, ...`
with CHUNK one of `TRAIN_0` ... `TRAIN_11`, `TEST`; `root` may also be one chunk. Source
convention: `x,y,w,h`, 0-based (as the TrackingNet devkit and pytracking read it), so no
shift. The TEST chunk annotates only the first frame: later rows are NaN.
"""
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import DatasetError, check_counts, list_images, read_rows

ONE_BASED = False


def is_trackingnet_chunk(folder) -> bool:
    """True when `folder` has `anno/` and `frames/` folders."""
    folder = Path(folder)
    return (folder / 'anno').is_dir() and (folder / 'frames').is_dir()


def trackingnet_chunks(root) -> list:
    """The chunk folders of a TrackingNet root (or `[root]` when it is a chunk)."""
    root = Path(root)
    if is_trackingnet_chunk(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and is_trackingnet_chunk(p))


def read_trackingnet_sequence(chunk, name) -> Sequence:
    """Read sequence `name` of one chunk folder."""
    chunk = Path(chunk)
    anno = chunk / 'anno' / f'{name}.txt'
    frames = list_images(chunk / 'frames' / name)
    gt = read_rows(anno)
    if len(gt) == 1 < len(frames):
        boxes = np.full((len(frames), 4), np.nan)
        boxes[0] = gt[0]
    else:
        boxes = gt
        check_counts(frames, boxes, anno, chunk / 'frames' / name)
    return Sequence(name=name, frames=tuple(str(f) for f in frames), boxes=boxes)


def read_trackingnet(root) -> list:
    """Read every sequence of every chunk under `root`."""
    chunks = trackingnet_chunks(root)
    if not chunks:
        raise DatasetError(f'{root}: no TrackingNet chunk (anno/ and frames/)')
    return [read_trackingnet_sequence(chunk, p.stem)
            for chunk in chunks for p in sorted((chunk / 'anno').glob('*.txt'))]
