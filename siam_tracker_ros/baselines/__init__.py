"""OpenCV baseline trackers (CSRT, KCF, MIL, MOSSE) wrapped in the `Tracker` interface."""
from siam_tracker_ros.baselines.opencv import OpenCVTracker, baseline_names, build_baseline

__all__ = ['OpenCVTracker', 'baseline_names', 'build_baseline']
