"""Tracking dataset readers (0-based `xywh` inside) shared by evaluation and training."""
from siam_tracker_ros.datasets.sequence import Sequence

__all__ = ['Sequence']
