"""OTB-2013/OTB-100, DTB70, the dev set and any plain `img/` + `groundtruth_rect.txt` folder.

Source convention: `x,y,w,h` per line, 1-based pixels (OTB toolkit), separated by commas, tabs
or spaces; converted to 0-based on load. A sequence folder is `<name>/img/*.jpg` plus
`groundtruth_rect.txt`. OTB quirks handled here:

- two-target sequences (Jogging, Skating2) ship `groundtruth_rect.1.txt` and
  `groundtruth_rect.2.txt`; they become `Jogging-1` and `Jogging-2` (OTB toolkit names). Empty
  annotation files (Human4's `.1`) are skipped.
- sequences whose frame numbers do not start at 1 (BlurCar1 starts at 0247.jpg) are read as
  numbered; a gap in the numbering is an error.
- David, Football1, Freeman3, Freeman4 and Diving annotate only part of their frames; the
  ranges below come from the OTB benchmark page (the OTB toolkit's `configSeqs`).

An optional `groundtruth_vot_polygon.txt` (8 values per line, 1-based; the dev set's VOT
clips) is kept as `Sequence.polygons`. An optional `attributes.txt` in the dataset root
(`name: IV, SV, ...` per line) fills `Sequence.attributes`.
"""
from pathlib import Path
from types import MappingProxyType

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import (DatasetError, check_counts, check_frame_numbers,
                                              list_images, read_rows)

ONE_BASED = True
OTB_FRAME_RANGES = MappingProxyType({
    'David': (300, 770), 'Football1': (1, 74), 'Freeman3': (1, 460), 'Freeman4': (1, 283),
    'Diving': (1, 215)})
_SHIFT = np.array([1.0, 1.0, 0.0, 0.0])


def is_otb_sequence(folder) -> bool:
    """True when `folder` holds `img/` and a `groundtruth_rect*.txt` file."""
    folder = Path(folder)
    return (folder / 'img').is_dir() and any(folder.glob('groundtruth_rect*.txt'))


def read_otb_sequence(folder, attributes=()) -> list:
    """Read one OTB-style sequence folder; a list because Jogging/Skating2 hold two targets."""
    folder = Path(folder)
    gt_files = sorted(p for p in folder.glob('groundtruth_rect*.txt') if p.stat().st_size > 0)
    if not gt_files:
        raise DatasetError(f'{folder}: no non-empty groundtruth_rect*.txt')
    frames = list_images(folder / 'img')
    check_frame_numbers(frames, folder / 'img')
    frames = _annotated_range(folder.name, frames)
    polygons = _read_polygons(folder / 'groundtruth_vot_polygon.txt', len(frames))
    sequences = []
    for gt_file in gt_files:
        boxes = read_rows(gt_file) - _SHIFT
        check_counts(frames, boxes, gt_file, folder / 'img')
        name = folder.name
        if len(gt_files) > 1:
            name = f'{name}-{gt_file.name.split(".")[1]}'
        sequences.append(Sequence(name=name, frames=tuple(str(f) for f in frames), boxes=boxes,
                                  polygons=polygons, attributes=tuple(attributes)))
    return sequences


def _annotated_range(name, frames) -> list:
    if name not in OTB_FRAME_RANGES:
        return frames
    first, last = OTB_FRAME_RANGES[name]
    numbers = [int(''.join(c for c in Path(f).stem if c.isdigit()) or -1) for f in frames]
    return [f for f, n in zip(frames, numbers) if first <= n <= last]


def _read_polygons(path, length):
    if not path.is_file():
        return None
    polygons = read_rows(path, ncols=(8,)) - np.tile([1.0, 1.0], 4)
    if len(polygons) != length:
        raise DatasetError(f'{path}: {len(polygons)} polygon lines for {length} frames')
    return polygons


def read_otb(root) -> list:
    """Read every OTB-style sequence under `root` (in `list.txt` order when there is one).

    Also serves DTB70 (same layout) and a single sequence folder passed as `root`.
    """
    root = Path(root)
    if is_otb_sequence(root):
        return read_otb_sequence(root)
    attributes = read_attributes(root / 'attributes.txt')
    sequences = []
    for folder in _sequence_folders(root):
        sequences.extend(read_otb_sequence(folder, attributes.get(folder.name, ())))
    if not sequences:
        raise DatasetError(f'{root}: no sequence folders with img/ and groundtruth_rect.txt')
    return sequences


def _sequence_folders(root) -> list:
    list_file = root / 'list.txt'
    if list_file.is_file():
        names = list_file.read_text().split()
        missing = [n for n in names if not is_otb_sequence(root / n)]
        if missing:
            raise DatasetError(f'{list_file}: listed sequence {missing[0]!r} has no img/ and '
                               f'groundtruth_rect.txt in {root}')
        return [root / n for n in names]
    return sorted(p for p in root.iterdir() if p.is_dir() and is_otb_sequence(p))


def read_attributes(path) -> dict:
    """Parse `name: ATTR, ATTR` lines into {name: (ATTR, ...)}; {} when the file is absent."""
    path = Path(path)
    if not path.is_file():
        return {}
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        name, sep, rest = line.partition(':')
        if not sep or not name.strip():
            raise DatasetError(f'{path}:{number}: expected "name: ATTR, ATTR", got {line!r}')
        table[name.strip()] = tuple(a.strip() for a in rest.split(',') if a.strip())
    return table
