"""Shared fixtures: the repository root, the real dev sequences in ../shared/data/sot, and a
way to hide a target in a real frame."""
import os
import signal
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOT_DIR = REPO_ROOT.parent / 'shared' / 'data' / 'sot'


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def sot_dir():
    assert SOT_DIR.is_dir(), f'dev sequences missing: {SOT_DIR} (CI clones with ../shared beside)'
    return SOT_DIR


@pytest.fixture(scope='session')
def sot_sequences(sot_dir):
    names = (sot_dir / 'list.txt').read_text().split()
    assert names, 'list.txt is empty'
    return [sot_dir / name for name in names]


@pytest.fixture(autouse=True)
def one_thread_per_xdist_worker():
    """Under pytest-xdist (one worker per CPU) every test computes on one torch and one OpenCV
    thread: their default, a thread per CPU in every worker, oversubscribes the CPUs (a
    tracker test ran 8x slower beside another worker than alone). Tests that set threads
    themselves still can."""
    if os.environ.get('PYTEST_XDIST_WORKER'):
        import cv2
        import torch
        torch.set_num_threads(1)
        cv2.setNumThreads(1)


def replace_square(frame, center, side):
    """The frame with the side² square around `center` replaced by the same-sized patch half
    a frame away (the target is gone, the scene stays real)."""
    height, width = frame.shape[:2]
    half = int(side) // 2
    x0, y0 = max(int(center[0]) - half, 0), max(int(center[1]) - half, 0)
    x1, y1 = min(int(center[0]) + half, width), min(int(center[1]) + half, height)
    src_x = (x0 + width // 2) % max(width - (x1 - x0), 1)
    src_y = (y0 + height // 2) % max(height - (y1 - y0), 1)
    hidden = frame.copy()
    hidden[y0:y1, x0:x1] = frame[src_y:src_y + y1 - y0, src_x:src_x + x1 - x0]
    return hidden


@pytest.fixture(scope='session')
def hide_search_region():
    """`replace_square(frame, center, side)`: hide what is around `center`."""
    return replace_square


def pytest_configure(config):
    config.addinivalue_line('markers', 'cuda: needs a CUDA device; deselected where none exists')
    # A shell starts background jobs (`cmd &`, nohup) with SIGINT ignored, and children keep
    # that: the Ctrl-C tests would then see processes that cannot be interrupted. A handler
    # here (not SIG_IGN) gives every child the default again at exec.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) CUDA tests on machines without CUDA, and say so."""
    import torch
    if torch.cuda.is_available():
        return
    cuda = [item for item in items if item.get_closest_marker('cuda')]
    if cuda:
        items[:] = [item for item in items if not item.get_closest_marker('cuda')]
        config.hook.pytest_deselected(items=cuda)
