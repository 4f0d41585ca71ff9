"""LaSOT (Fan et al., CVPR 2019).

Layout: `<root>/<class>/<class>-<n>/img/00000001.jpg`, `groundtruth.txt`,
`full_occlusion.txt`, `out_of_view.txt` (the class level may be missing when the test set is
unpacked flat). An optional `testing_set.txt` in the root restricts the sequences (LaSOT
protocol II). Source convention: `x,y,w,h`, 1-based (spec §1.1). A frame is absent when it is
fully occluded or out of view; `extra` holds 'full_occlusion' and 'out_of_view' as bool arrays.
"""
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import (DatasetError, check_counts, list_images,
                                              read_flags, read_list, read_rows)

ONE_BASED = True
_SHIFT = np.array([1.0, 1.0, 0.0, 0.0])


def is_lasot_sequence(folder) -> bool:
    """True when `folder` has `img/`, `groundtruth.txt` and `full_occlusion.txt`."""
    folder = Path(folder)
    return ((folder / 'img').is_dir() and (folder / 'groundtruth.txt').is_file()
            and (folder / 'full_occlusion.txt').is_file())


def lasot_folders(root) -> list:
    """LaSOT sequence folders one or two levels below `root`, sorted by name."""
    root = Path(root)
    found = [p for p in root.iterdir() if p.is_dir() and is_lasot_sequence(p)]
    for child in root.iterdir():
        if child.is_dir() and not is_lasot_sequence(child):
            found.extend(p for p in child.iterdir() if p.is_dir() and is_lasot_sequence(p))
    return sorted(found, key=lambda p: p.name)


def read_lasot_sequence(folder) -> Sequence:
    """Read one LaSOT sequence folder."""
    folder = Path(folder)
    boxes = read_rows(folder / 'groundtruth.txt') - _SHIFT
    frames = list_images(folder / 'img')
    check_counts(frames, boxes, folder / 'groundtruth.txt', folder / 'img')
    occlusion = read_flags(folder / 'full_occlusion.txt', len(frames)) > 0
    out_of_view = np.zeros(len(frames), dtype=bool)
    if (folder / 'out_of_view.txt').is_file():
        out_of_view = read_flags(folder / 'out_of_view.txt', len(frames)) > 0
    return Sequence(name=folder.name, frames=tuple(str(f) for f in frames), boxes=boxes,
                    absent=occlusion | out_of_view,
                    extra={'full_occlusion': occlusion, 'out_of_view': out_of_view})


def read_lasot(root) -> list:
    """Read LaSOT under `root` (only `testing_set.txt` names when that file exists)."""
    root = Path(root)
    if is_lasot_sequence(root):
        return [read_lasot_sequence(root)]
    folders = lasot_folders(root)
    if (root / 'testing_set.txt').is_file():
        wanted = set(read_list(root / 'testing_set.txt'))
        folders = [f for f in folders if f.name in wanted]
    if not folders:
        raise DatasetError(f'{root}: no LaSOT sequence folders (img/, groundtruth.txt, '
                           f'full_occlusion.txt)')
    return [read_lasot_sequence(f) for f in folders]
