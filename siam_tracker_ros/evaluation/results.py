"""Result files in the standard benchmark text formats, and their paths.

- ope (OTB/pysot): `<tracker>/<seq>.txt`, one `x,y,w,h` line per frame, and
  `<tracker>/times/<seq>_time.txt` (got10k `ExperimentOTB`).
- got10k: `<tracker>/<seq>/<seq>_001.txt` and `<tracker>/<seq>/<seq>_time.txt`
  (got10k `ExperimentGOT10k`, the server's submission format).
- vot: `<tracker>/baseline/<seq>/<seq>_001.txt` with `1` (init), `2` (failure), `0`
  (skipped) or `x,y,w,h` lines, and `<seq>_time.txt` beside it (VOT toolkit, pysot).

Boxes are written in the dataset's own convention (1 is added for 1-based datasets) so the
files can be fed to the official toolkits; `read_*` converts back to 0-based.
"""
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from siam_tracker_ros.datasets.textio import DatasetError, read_rows

PROTOCOLS = ('ope', 'vot', 'got10k')
_SHIFT = np.array([1.0, 1.0, 0.0, 0.0])


def result_paths(results_dir, tracker, sequence_name, protocol) -> tuple:
    """(box file, time file) of one tracker on one sequence."""
    base = Path(results_dir) / tracker
    if protocol == 'ope':
        return base / f'{sequence_name}.txt', base / 'times' / f'{sequence_name}_time.txt'
    if protocol == 'got10k':
        folder = base / sequence_name
    elif protocol == 'vot':
        folder = base / 'baseline' / sequence_name
    else:
        raise ValueError(f'unknown protocol {protocol!r}; known: {", ".join(PROTOCOLS)}')
    return folder / f'{sequence_name}_001.txt', folder / f'{sequence_name}_time.txt'


def _atomic_write(path, text) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(text)
    os.replace(tmp, path)


def _format_box(box, one_based) -> str:
    values = np.asarray(box, dtype=np.float64) + (_SHIFT if one_based else 0.0)
    return ','.join(f'{v:.3f}' for v in values)


def write_result(box_path, time_path, trajectory, times, one_based) -> None:
    """Write a trajectory (boxes or VOT code tuples) and per-frame seconds; box file last,
    so a present box file means a complete result."""
    lines = [str(int(entry[0])) if len(entry) == 1 else _format_box(entry, one_based)
             for entry in trajectory]
    _atomic_write(Path(time_path), ''.join(f'{t:.6f}\n' for t in times))
    _atomic_write(Path(box_path), '\n'.join(lines) + '\n')


def is_complete(box_path, length) -> bool:
    """True when `box_path` exists with exactly `length` non-empty lines (resume check)."""
    box_path = Path(box_path)
    if not box_path.is_file():
        return False
    return sum(1 for line in box_path.read_text().splitlines() if line.strip()) == length


def read_boxes(box_path, length, one_based) -> np.ndarray:
    """Read an ope/got10k result file as (N, 4) 0-based boxes; checks the frame count.
    Only the first four fields of a line are read (`siam-track run` adds score and state)."""
    boxes = read_rows(box_path, leading=4)
    if len(boxes) != length:
        raise DatasetError(f'{box_path}: {len(boxes)} result lines for {length} frames')
    return boxes - (_SHIFT if one_based else 0.0)


def read_trajectory(box_path, length, one_based) -> list:
    """Read a VOT result file as a list of 4-tuples (0-based) and 1-tuple codes."""
    box_path = Path(box_path)
    if not box_path.is_file():
        raise DatasetError(f'{box_path}: file not found')
    entries = []
    for number, line in enumerate(box_path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        values = line.replace('\t', ',').split(',')
        try:
            values = [float(v) for v in values]
        except ValueError:
            raise DatasetError(f'{box_path}:{number}: not a VOT result line: {line!r}') from None
        if len(values) == 1:
            entries.append((int(values[0]),))
        elif len(values) == 4:
            entries.append(tuple(np.asarray(values) - (_SHIFT if one_based else 0.0)))
        else:
            raise DatasetError(f'{box_path}:{number}: expected 1 or 4 values: {line!r}')
    if len(entries) != length:
        raise DatasetError(f'{box_path}: {len(entries)} result lines for {length} frames')
    return entries


def read_times(time_path) -> np.ndarray:
    """Per-frame seconds (first column), or an empty array when the file is missing."""
    time_path = Path(time_path)
    if not time_path.is_file():
        return np.zeros(0)
    return read_rows(time_path, ncols=range(1, 100))[:, 0]


def weights_identity(weights) -> str:
    """What produced a tracker's results: 'none' or the weights file's name and content hash."""
    if not weights:
        return 'none'
    path = Path(weights)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f'{path.name} sha256:{digest}'


def check_provenance(tracker_dir, identity: str) -> None:
    """Record `identity` in `<tracker_dir>/RUN.json`; refuse to resume results made otherwise.

    Raises:
        ValueError: the folder holds results of the same tracker with other weights, or a
            RUN.json that is not a JSON object.
    """
    record = Path(tracker_dir) / 'RUN.json'
    if record.is_file():
        try:
            made_with = json.loads(record.read_text()).get('weights')
        except (json.JSONDecodeError, AttributeError) as err:
            raise ValueError(f'{record}: not a valid RUN.json ({err}); delete it or use a '
                             'fresh --out') from None
        if made_with != identity:
            raise ValueError(f'{tracker_dir} holds results made with weights {made_with!r}, '
                             f'not {identity!r}: use a fresh --out or delete that folder')
        return
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({'weights': identity}) + '\n')
