"""The explicit tracker registry: one entry per tracker, with everything every tool needs.

A leaf module: it imports no tracker. Trackers register themselves when
`siam_tracker_ros.trackers` is imported (the package `__init__` does that), so every tool
(`build_tracker`, `siam-track`, training, the node) sees the same entries.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from siam_tracker_ros.config import config_dir


class UnknownTrackerError(KeyError):
    """A tracker name that is not registered."""

    def __str__(self):
        return self.args[0]


@dataclass(frozen=True)
class TrackerEntry:
    """What every tool needs to know about one tracker.

    Attributes:
        name: the registry key (`--tracker`, the node's `tracker` parameter).
        tracker_class: the `SiameseTracker` subclass; its crops, decode and update are the
            tracker's decoder.
        config_class: the frozen config dataclass; `config/<name>.yaml` holds its values.
        build_net: `(config, backbone: Optional[str], pretrained_dir: Optional[Path])` -> the
            network (template / search / head, see docs/architecture.md). `backbone` is the
            weights file's own backbone name (None: the config's); `pretrained_dir` holds
            ImageNet trunk files for training (None: random trunk).
        objective: how a training batch is built and its loss (`training.objectives`).
        summary: one line for `siam-track list`.
        weight_sources: other trackers whose weights files this one also accepts.
        start_sources: other trackers whose weights files only start this one's training
            (`init_weights`), e.g. a trunk and neck without the tracker's head; tracking
            with one is refused.
        config_file: the config YAML when it does not live in `config/` (plugins).
        adapt_state: `(net, state_dict, source)` -> the state dict to load, for a weights
            file of `source` (one of `weight_sources` or `start_sources`) that lacks this
            tracker's own parameters (e.g. DSiam's fusion map from SiamFC weights); None: load
            as it is.
            The result is still loaded strictly.
    """

    name: str
    tracker_class: type
    config_class: type
    build_net: Callable
    objective: object
    summary: str
    weight_sources: tuple = ()
    start_sources: tuple = ()
    config_file: Optional[Path] = None
    adapt_state: Optional[Callable] = None

    @property
    def config_path(self) -> Path:
        """The YAML file with this tracker's settings."""
        return Path(self.config_file) if self.config_file else config_dir() / f'{self.name}.yaml'


TRACKERS = {}


def register(entry: TrackerEntry) -> TrackerEntry:
    """Add `entry` to the registry; a name registered twice is an error."""
    if entry.name in TRACKERS:
        raise ValueError(f'tracker {entry.name!r} registered twice')
    TRACKERS[entry.name] = entry
    return entry


def get_entry(name: str) -> TrackerEntry:
    """The registry entry for `name`, or a clear UnknownTrackerError."""
    if not isinstance(name, str) or name not in TRACKERS:
        raise UnknownTrackerError(
            f'unknown tracker {name!r}; registered: {", ".join(tracker_names())}')
    return TRACKERS[name]


def tracker_names() -> list:
    """Registered tracker names, sorted."""
    return sorted(TRACKERS)
