"""Helpers that build small synthetic datasets in the benchmark layouts."""
import cv2
import numpy as np
import pytest


def write_frames(folder, count, pattern='{:04d}.jpg', start=1, size=(48, 64)):
    """Write `count` small JPEG frames named by `pattern`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / pattern.format(i)
        cv2.imwrite(str(path), np.full(size + (3,), (i * 7) % 255, np.uint8))
        paths.append(path)
    return paths


def write_lines(path, rows, sep=','):
    """Write rows of numbers (or raw strings) one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join((r if isinstance(r, str) else sep.join(str(v) for v in r)) + '\n'
                            for r in rows))
    return path


@pytest.fixture
def otb_root(tmp_path):
    """An OTB-style root: a tab-separated sequence, a two-target one and one starting at 0005."""
    root = tmp_path / 'otb'
    write_frames(root / 'Tabbed' / 'img', 3)
    write_lines(root / 'Tabbed' / 'groundtruth_rect.txt', [(11, 21, 5, 6)] * 3, sep='\t')
    write_frames(root / 'Jogging' / 'img', 2)
    write_lines(root / 'Jogging' / 'groundtruth_rect.1.txt', [(1, 1, 4, 4)] * 2)
    write_lines(root / 'Jogging' / 'groundtruth_rect.2.txt', [(9, 9, 4, 4)] * 2)
    write_frames(root / 'Late' / 'img', 2, start=5)
    write_lines(root / 'Late' / 'groundtruth_rect.txt', ['3 4 5 6', '3 4 5 6'])
    return root
