"""ILSVRC2015-VID (ImageNet VID) reader: one `Sequence` per (snippet, trackid).

Layout (as distributed)::

    ILSVRC2015/Data/VID/<split>/<snippet path>/000000.JPEG ...
    ILSVRC2015/Annotations/VID/<split>/<snippet path>/000000.xml ...

`<split>` is `train` (snippets under `ILSVRC2015_VID_train_000N/`) or `val`. Every frame has
an XML file listing `<object>`s with `<trackid>`, `<name>` (WordNet id), `<occluded>` and a
`<bndbox>` of inclusive 0-based pixel corners (`xmin ymin xmax ymax`), so the 0-based `xywh`
box is (xmin, ymin, xmax − xmin + 1, ymax − ymin + 1). Frames where a track has no object
are NaN rows with `absent` True. `extra['class']` holds the track's WordNet id (a 1-element
array) and `extra['occluded']` the per-frame flag.
"""
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import DatasetError


def _vid_root(root: Path) -> Path:
    for candidate in (root, root / 'ILSVRC2015', root / 'ILSVRC'):
        if (candidate / 'Annotations' / 'VID').is_dir():
            return candidate
    raise DatasetError(f'{root}: no Annotations/VID folder (not an ILSVRC2015-VID root)')


def _parse_frame(path: Path) -> dict:
    """{trackid: (box, name, occluded)} of one annotation file."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as err:
        raise DatasetError(f'{path}: invalid XML: {err}') from None
    objects = {}
    for obj in tree.getroot().iter('object'):
        box = obj.find('bndbox')
        xmin, ymin, xmax, ymax = (float(box.find(k).text) for k in
                                  ('xmin', 'ymin', 'xmax', 'ymax'))
        occluded = obj.find('occluded')
        objects[int(obj.find('trackid').text)] = (
            (xmin, ymin, xmax - xmin + 1, ymax - ymin + 1), obj.find('name').text,
            bool(int(occluded.text)) if occluded is not None else False)
    return objects


def read_snippet(anno_dir: Path, data_dir: Path, name: str) -> list:
    """All tracks of one snippet as Sequences named `<name>.<trackid>`."""
    xml_files = sorted(anno_dir.glob('*.xml'))
    frames = tuple(str(data_dir / (p.stem + '.JPEG')) for p in xml_files)
    per_frame = [_parse_frame(p) for p in xml_files]
    track_ids = sorted({tid for objects in per_frame for tid in objects})
    sequences = []
    for tid in track_ids:
        boxes = np.full((len(frames), 4), np.nan)
        occluded = np.zeros(len(frames), bool)
        label = ''
        for index, objects in enumerate(per_frame):
            if tid in objects:
                boxes[index], label, occluded[index] = objects[tid]
        absent = ~np.isfinite(boxes).all(axis=1)
        sequences.append(Sequence(f'{name}.{tid}', frames, boxes, absent=absent,
                                  extra={'class': np.array([label]), 'occluded': occluded}))
    return sequences


def read_ilsvrc_vid(root, split: str = 'train') -> list:
    """Read every snippet of `split` ('train' or 'val') under an ILSVRC2015 root."""
    base = _vid_root(Path(root))
    anno_root = base / 'Annotations' / 'VID' / split
    if not anno_root.is_dir():
        raise DatasetError(f'{anno_root}: split folder not found')
    snippet_dirs = sorted({p.parent for p in anno_root.rglob('*.xml')})
    sequences = []
    for anno_dir in snippet_dirs:
        relative = anno_dir.relative_to(anno_root)
        data_dir = base / 'Data' / 'VID' / split / relative
        sequences.extend(read_snippet(anno_dir, data_dir, str(relative).replace('/', '_')))
    if not sequences:
        raise DatasetError(f'{anno_root}: no annotated snippets')
    return sequences
