"""Dataset layout auto-detection: one path in, a named list of `Sequence` out."""
from dataclasses import dataclass
from pathlib import Path

from siam_tracker_ros.datasets import got10k, lasot, otb, trackingnet, uav123, vot
from siam_tracker_ros.datasets.textio import DatasetError


@dataclass(frozen=True)
class Layout:
    """One supported dataset layout.

    Attributes:
        name: layout name accepted by `load_dataset(layout=...)`.
        detect: `detect(path) -> bool`.
        read: `read(path) -> list[Sequence]`.
        one_based: whether the source files are 1-based (result files are written the same way).
        protocol: the layout's default evaluation protocol ('ope', 'vot' or 'got10k').
    """

    name: str
    detect: object
    read: object
    one_based: bool
    protocol: str


@dataclass(frozen=True)
class Dataset:
    """Sequences read from one path, with what the runner and report need to know."""

    name: str
    layout: str
    root: str
    sequences: tuple
    one_based: bool
    protocol: str


def _is_got10k(path):
    return got10k.is_got10k_split(path) or any(got10k.is_got10k_split(path / s)
                                               for s in got10k.SPLITS)


def _is_lasot(path):
    return lasot.is_lasot_sequence(path) or bool(lasot.lasot_folders(path))


def _is_otb(path):
    return otb.is_otb_sequence(path) or any(
        p.is_dir() and otb.is_otb_sequence(p) for p in path.iterdir())


# Order matters: the more specific layouts first (the dev set has a list.txt, as VOT does).
LAYOUTS = (
    Layout('uav123', uav123.is_uav123, uav123.read_uav123, uav123.ONE_BASED, 'ope'),
    Layout('trackingnet', lambda p: bool(trackingnet.trackingnet_chunks(p)),
           trackingnet.read_trackingnet, trackingnet.ONE_BASED, 'ope'),
    Layout('got10k', _is_got10k, got10k.read_got10k, got10k.ONE_BASED, 'got10k'),
    Layout('lasot', _is_lasot, lasot.read_lasot, lasot.ONE_BASED, 'ope'),
    Layout('otb', _is_otb, otb.read_otb, otb.ONE_BASED, 'ope'),
    Layout('vot', vot.is_vot, vot.read_vot, vot.ONE_BASED, 'vot'),
)


def layout_names() -> list:
    """Names of the supported layouts, in detection order."""
    return [layout.name for layout in LAYOUTS]


def detect_layout(path) -> Layout:
    """The first layout whose `detect` accepts `path`.

    Raises:
        DatasetError: when the path is missing or matches no known layout.
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f'{path}: dataset folder not found')
    for layout in LAYOUTS:
        if layout.detect(path):
            return layout
    raise DatasetError(
        f'{path}: unknown dataset layout; expected one of {", ".join(layout_names())} '
        f'(e.g. <seq>/img/*.jpg + <seq>/groundtruth_rect.txt for OTB-style folders)')


def load_dataset(path, layout=None) -> Dataset:
    """Read every sequence under `path`, auto-detecting the layout unless `layout` is given."""
    path = Path(path).expanduser().resolve()
    if layout is None:
        chosen = detect_layout(path)
    else:
        chosen = next((item for item in LAYOUTS if item.name == layout), None)
        if chosen is None:
            raise DatasetError(f'unknown layout {layout!r}; known: {", ".join(layout_names())}')
    sequences = tuple(chosen.read(path))
    names = [s.name for s in sequences]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise DatasetError(f'{path}: two sequences named {duplicate!r}')
    return Dataset(name=path.name, layout=chosen.name, root=str(path), sequences=sequences,
                   one_based=chosen.one_based, protocol=chosen.protocol)
