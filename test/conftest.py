"""Shared fixtures: the repository root and the real dev sequences in ../shared/data/sot."""
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


def pytest_configure(config):
    config.addinivalue_line('markers', 'cuda: needs a CUDA device; deselected where none exists')


def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) CUDA tests on machines without CUDA, and say so."""
    import torch
    if torch.cuda.is_available():
        return
    cuda = [item for item in items if item.get_closest_marker('cuda')]
    if cuda:
        items[:] = [item for item in items if not item.get_closest_marker('cuda')]
        config.hook.pytest_deselected(items=cuda)
