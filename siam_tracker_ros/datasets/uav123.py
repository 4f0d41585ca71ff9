"""UAV123, UAV20L and UAV123@10fps (Mueller et al., ECCV 2016).

Layout: `data_seq/<VERSION>/<folder>/000001.jpg` and `anno/<VERSION>/<sequence>.txt`, with
VERSION one of `UAV123`, `UAV20L`, `UAV123_10fps`. Source convention: `x,y,w,h`, 1-based
(the UAV123 toolkit is the OTB toolkit), 'NaN' rows where the target is out of view.
Several UAV123 sequences are cut from one folder (`bird1_1`, `bird1_2`, ... from `bird1`);
their frame ranges come from the toolkit's `configSeqs*.m` (put it in the dataset root).
Without it a sequence whose annotation covers all frames of its folder still reads.
Attributes come from `anno/<VERSION>/att/<sequence>.txt` (12 flags, order below).
"""
import re
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import (DatasetError, check_counts, list_images,
                                              read_rows)

ONE_BASED = True
VERSIONS = ('UAV123', 'UAV123_10fps', 'UAV20L')
ATTRIBUTES = ('SV', 'ARC', 'LR', 'FM', 'FOC', 'POC', 'OV', 'BC', 'IV', 'VC', 'CM', 'SOB')
_CONFIG_ENTRY = re.compile(
    r"'name'\s*,\s*'(?P<name>[^']+)'\s*,\s*'path'\s*,\s*'(?P<path>[^']+)'.*?"
    r"'startFrame'\s*,\s*(?P<start>\d+)\s*,\s*'endFrame'\s*,\s*(?P<end>\d+)")
_SHIFT = np.array([1.0, 1.0, 0.0, 0.0])


def is_uav123(root) -> bool:
    """True when `root` has `anno/` and `data_seq/` folders."""
    root = Path(root)
    return (root / 'anno').is_dir() and (root / 'data_seq').is_dir()


def read_uav123(root, version=None) -> list:
    """Read one UAV123 version (default: the first of VERSIONS present under `anno/`)."""
    root = Path(root)
    version = version or next((v for v in VERSIONS if (root / 'anno' / v).is_dir()), None)
    if version is None or not (root / 'anno' / version).is_dir():
        raise DatasetError(f'{root}: no anno/<version> folder for any of {", ".join(VERSIONS)}')
    ranges = read_config_ranges(root)
    sequences = []
    for anno_file in sorted((root / 'anno' / version).glob('*.txt')):
        name = anno_file.stem
        boxes = read_rows(anno_file) - _SHIFT
        frames = _frames(root, version, name, ranges)
        check_counts(frames, boxes, anno_file, root / 'data_seq' / version)
        sequences.append(Sequence(name=name, frames=tuple(str(f) for f in frames), boxes=boxes,
                                  attributes=_attributes(root / 'anno' / version / 'att', name)))
    if not sequences:
        raise DatasetError(f'{root / "anno" / version}: no annotation files')
    return sequences


def _frames(root, version, name, ranges) -> list:
    if name in ranges:
        folder, start, end = ranges[name]
        folder = root / 'data_seq' / version / folder
        frames = [folder / f'{i:06d}.jpg' for i in range(start, end + 1)]
        missing = next((f for f in frames if not f.is_file()), None)
        if missing is not None:
            raise DatasetError(f'{missing}: frame missing (range {start}-{end} of {name})')
        return frames
    folder = root / 'data_seq' / version / name
    if not folder.is_dir():
        raise DatasetError(f'{folder}: frame folder of {name} not found; sub-sequences need '
                           f'the UAV123 toolkit configSeqs*.m in {root}')
    return list_images(folder)


def read_config_ranges(root) -> dict:
    """{sequence: (folder, start, end)} parsed from `configSeqs*.m` in `root`; {} if absent."""
    ranges = {}
    for config in sorted(Path(root).glob('configSeqs*.m')):
        for match in _CONFIG_ENTRY.finditer(config.read_text(errors='replace')):
            folder = [p for p in re.split(r'[\\/]', match['path']) if p][-1]
            ranges[match['name']] = (folder, int(match['start']), int(match['end']))
    return ranges


def _attributes(folder, name) -> tuple:
    path = folder / f'{name}.txt'
    if not path.is_file():
        return ()
    flags = read_rows(path, ncols=(len(ATTRIBUTES),), allow_nan=False)[0]
    return tuple(a for a, f in zip(ATTRIBUTES, flags) if f > 0)
