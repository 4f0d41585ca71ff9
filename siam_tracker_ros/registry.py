"""The explicit tracker registry and `build_tracker`, the one way to construct a tracker."""
from dataclasses import dataclass

from siam_tracker_ros.config import load_config


class UnknownTrackerError(KeyError):
    """A tracker name that is not registered."""

    def __str__(self):
        return self.args[0]


@dataclass(frozen=True)
class TrackerEntry:
    """What the registry knows about one tracker."""

    name: str
    tracker_class: type
    config_class: type
    summary: str


TRACKERS = {}


def register(name: str, config_class: type, summary: str):
    """Class decorator that adds a tracker class to `TRACKERS` under `name`."""
    def add(tracker_class):
        if name in TRACKERS:
            raise ValueError(f'tracker {name!r} registered twice')
        tracker_class.name = name
        TRACKERS[name] = TrackerEntry(name, tracker_class, config_class, summary)
        return tracker_class
    return add


def get_entry(name: str) -> TrackerEntry:
    """The registry entry for `name`, or a clear UnknownTrackerError."""
    _ensure_loaded()
    if name not in TRACKERS:
        raise UnknownTrackerError(
            f'unknown tracker {name!r}; registered: {", ".join(tracker_names())}')
    return TRACKERS[name]


def tracker_names() -> list:
    """Registered tracker names, sorted."""
    _ensure_loaded()
    return sorted(TRACKERS)


def build_tracker(name: str, weights=None, device: str = 'cpu', config_path=None,
                  **options):
    """Construct tracker `name` from `config/<name>.yaml` (or `config_path`).

    Args:
        name: a registered tracker name.
        weights: path of a weights file; None gives a seeded random initialisation,
            'default' the best shipped weights when the tracker has some.
        device: 'cpu', 'cuda', 'cuda:N' or 'auto'.
        config_path: a YAML file to read instead of `config/<name>.yaml`.
        **options: runtime options of the tracker class (precision, threads, ...) or
            config field overrides; unknown names are errors.
    """
    entry = get_entry(name)
    runtime = {k: options.pop(k) for k in list(options) if k in entry.tracker_class.RUNTIME_OPTIONS}
    config = load_config(entry.config_class, name, config_path, **options)
    return entry.tracker_class(config, weights=weights, device=device, **runtime)


def _ensure_loaded():
    import siam_tracker_ros.trackers  # noqa: F401  (explicit imports fill TRACKERS)
