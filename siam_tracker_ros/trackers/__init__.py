"""Tracker implementations. Importing this package registers them: the list is explicit.

Trackers outside the package (plugins) are imported too: the modules named in the
SIAM_TRACKER_PLUGINS environment variable (comma-separated) and the `siam_tracker_ros.trackers`
entry points of installed distributions. A plugin module registers its own entry.
"""
import importlib
import os
from importlib import metadata

from siam_tracker_ros.trackers import (dastsiam, dsiam, dyconv_fusion, siam_gam,  # noqa: F401
                                       siamfc, siamrpn)

PLUGINS_VARIABLE = 'SIAM_TRACKER_PLUGINS'
PLUGIN_GROUP = 'siam_tracker_ros.trackers'


def _load_plugins() -> None:
    names = [n.strip() for n in os.environ.get(PLUGINS_VARIABLE, '').split(',') if n.strip()]
    for name in names:
        importlib.import_module(name)
    for point in metadata.entry_points(group=PLUGIN_GROUP):
        point.load()


_load_plugins()
