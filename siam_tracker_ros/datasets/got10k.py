"""GOT-10k (Huang et al., TPAMI 2019): train, val and test splits.

Layout: `<root>/<split>/list.txt` and `<root>/<split>/GOT-10k_<Split>_000001/00000001.jpg`,
`groundtruth.txt`, and in train/val `absence.label` (1 = target absent), `cover.label`
(0-8, visible fraction in eighths: 0 = fully occluded or absent, 8 = fully visible) and
`cut_by_image.label`. Source convention: `x,y,w,h` with the GOT-10k toolkit's 0-based origin
(it clips boxes to [0, width] x [0, height] unshifted), so no shift is applied.
The test split has only the first box: later rows are NaN. `extra` holds 'cover' (int) and,
when present, 'cut_by_image' (bool).
"""
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import (DatasetError, check_counts, list_images,
                                              read_flags, read_list, read_rows)

ONE_BASED = False
SPLITS = ('train', 'val', 'test')


def is_got10k_split(folder) -> bool:
    """True when `folder` has `list.txt` and GOT-10k_* sequence folders."""
    folder = Path(folder)
    return (folder / 'list.txt').is_file() and any(folder.glob('GOT-10k_*'))


def read_got10k_sequence(folder, test=False) -> Sequence:
    """Read one GOT-10k sequence folder; `test` when only the first box is annotated."""
    folder = Path(folder)
    frames = list_images(folder)
    gt = read_rows(folder / 'groundtruth.txt')
    if test or len(gt) == 1 < len(frames):
        boxes = np.full((len(frames), 4), np.nan)
        boxes[0] = gt[0]
    else:
        boxes = gt
        check_counts(frames, boxes, folder / 'groundtruth.txt', folder)
    absent, extra = None, {}
    if (folder / 'absence.label').is_file():
        absent = read_flags(folder / 'absence.label', len(frames)) > 0
    if (folder / 'cover.label').is_file():
        extra['cover'] = read_flags(folder / 'cover.label', len(frames))
    if (folder / 'cut_by_image.label').is_file():
        extra['cut_by_image'] = read_flags(folder / 'cut_by_image.label', len(frames)) > 0
    return Sequence(name=folder.name, frames=tuple(str(f) for f in frames), boxes=boxes,
                    absent=absent, extra=extra)


def read_got10k(root, split=None) -> list:
    """Read one split; `root` is the GOT-10k root (default split: val, else test, else train)
    or a split folder itself."""
    root = Path(root)
    if is_got10k_split(root):
        folder = root
    else:
        split = split or next((s for s in ('val', 'test', 'train')
                               if is_got10k_split(root / s)), None)
        if split is None or not is_got10k_split(root / split):
            raise DatasetError(f'{root}: no GOT-10k split folder ({", ".join(SPLITS)}) with '
                               f'list.txt')
        folder = root / split
    test = folder.name == 'test'
    names = read_list(folder / 'list.txt')
    missing = next((n for n in names if not (folder / n).is_dir()), None)
    if missing is not None:
        raise DatasetError(f'{folder / "list.txt"}: listed sequence {missing!r} not found')
    return [read_got10k_sequence(folder / n, test=test) for n in names]
