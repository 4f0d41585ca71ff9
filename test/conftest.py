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
