"""Tracker implementations. Importing a module registers its tracker: the list is explicit."""
from siam_tracker_ros.trackers import siamfc  # noqa: F401
