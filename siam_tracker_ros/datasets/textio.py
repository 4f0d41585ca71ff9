"""Strict readers for the small text files tracking datasets ship (boxes, labels, frame lists).

Every error is a `DatasetError` that names the file and, where it applies, the 1-based line.
"""
import os
import re
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
_SEPARATORS = re.compile(r'[,\t ;]+')


class DatasetError(ValueError):
    """A dataset that cannot be read: missing files, malformed lines, count mismatches."""


def read_rows(path, ncols=(4,), allow_nan=True, leading=None) -> np.ndarray:
    """Read a numeric table with one row per line (comma, tab, space or ';' separated).

    Args:
        path: the text file.
        ncols: accepted numbers of values per line; every line must have the same count.
        allow_nan: accept 'nan' / 'NaN' values (UAV123 and LaSOT mark unknown boxes so).
        leading: read only the first `leading` fields of each line (e.g. the box of a
            `siam-track run` line `x,y,w,h,score,state`).

    Returns:
        (N, C) float64 array.

    Raises:
        DatasetError: naming the file and line of the first bad value.
    """
    rows = read_lines(path, ncols, allow_nan, leading)
    for number, row in rows:
        if len(row) != len(rows[0][1]):
            raise DatasetError(f'{path}:{number}: {len(row)} values, but the first line has '
                               f'{len(rows[0][1])}')
    return np.asarray([row for _, row in rows], dtype=np.float64)


def read_lines(path, ncols=(4,), allow_nan=True, leading=None) -> list:
    """Like `read_rows`, but lines may differ in length: a list of (line number, values)."""
    path = Path(path)
    rows = [(number, _parse_line(path, number, text, ncols, allow_nan, leading))
            for number, text in _numbered_lines(path) if text]
    if not rows:
        raise DatasetError(f'{path}: no annotation lines')
    return rows


def _numbered_lines(path):
    """(line number, stripped text) of each line of a text file that must exist."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{path}: file not found')
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, start=1):
            yield number, line.strip()


def _parse_line(path, number, text, ncols, allow_nan, leading=None) -> list:
    parts = [p for p in _SEPARATORS.split(text) if p][:leading]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise DatasetError(f'{path}:{number}: not a list of numbers: {text!r}') from None
    if len(values) not in ncols:
        expected = ' or '.join(str(n) for n in ncols)
        raise DatasetError(f'{path}:{number}: expected {expected} values, got {len(values)}: '
                           f'{text!r}')
    if any(np.isinf(v) for v in values) or (not allow_nan and any(np.isnan(v) for v in values)):
        raise DatasetError(f'{path}:{number}: non-finite value: {text!r}')
    return values


def read_flags(path, length=None) -> np.ndarray:
    """Read one integer label per line (GOT-10k `absence.label`, LaSOT `full_occlusion.txt`).

    LaSOT writes its flags comma-separated on one line; both forms are accepted.

    Raises:
        DatasetError: for a non-integer value or, when `length` is given, a count mismatch.
    """
    values = []
    for number, text in _numbered_lines(path):
        for part in _SEPARATORS.split(text):
            if not part:
                continue
            try:
                values.append(int(float(part)))
            except ValueError:
                raise DatasetError(f'{path}:{number}: not an integer label: {part!r}') from None
    if length is not None and len(values) != length:
        raise DatasetError(f'{path}: {len(values)} labels for {length} frames')
    return np.asarray(values, dtype=np.int64)


def list_images(folder) -> list:
    """Image files directly inside `folder`, sorted by the number in their name, then name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f'{folder}: image folder not found')
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not names:
        raise DatasetError(f'{folder}: no image files ({", ".join(IMAGE_EXTENSIONS)})')
    return [folder / n for n in sorted(names, key=_frame_key)]


def _frame_key(name):
    digits = re.findall(r'\d+', name)
    return (int(digits[-1]) if digits else -1, name)


def check_counts(frames, boxes, gt_path, frames_dir) -> None:
    """Raise a DatasetError when the frame and ground-truth line counts differ."""
    if len(frames) != len(boxes):
        raise DatasetError(f'{gt_path}: {len(boxes)} ground-truth lines but {len(frames)} frames '
                           f'in {frames_dir}')


def check_frame_numbers(frames, frames_dir) -> None:
    """Raise a DatasetError naming the first missing frame when numbered frames have a gap."""
    numbers = [_frame_key(Path(f).name)[0] for f in frames]
    for previous, current in zip(numbers, numbers[1:]):
        if previous >= 0 and current != previous + 1:
            raise DatasetError(f'{frames_dir}: frame {previous + 1} is missing '
                               f'(frames jump from {previous} to {current})')


def read_list(path) -> list:
    """Non-empty, stripped lines of a list file (GOT-10k / VOT `list.txt`)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{path}: file not found')
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
