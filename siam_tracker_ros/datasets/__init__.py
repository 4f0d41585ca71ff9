"""Tracking dataset readers (0-based `xywh` inside) shared by evaluation and training.

One function per layout returns a list of `Sequence`; `load_dataset(path)` detects the layout.
"""
from siam_tracker_ros.datasets.got10k import read_got10k
from siam_tracker_ros.datasets.lasot import read_lasot
from siam_tracker_ros.datasets.layout import Dataset, detect_layout, load_dataset
from siam_tracker_ros.datasets.otb import read_otb
from siam_tracker_ros.datasets.sequence import Sequence
from siam_tracker_ros.datasets.textio import DatasetError
from siam_tracker_ros.datasets.trackingnet import read_trackingnet
from siam_tracker_ros.datasets.uav123 import read_uav123
from siam_tracker_ros.datasets.vot import read_vot

__all__ = ['Dataset', 'DatasetError', 'Sequence', 'detect_layout', 'load_dataset', 'read_got10k',
           'read_lasot', 'read_otb', 'read_trackingnet', 'read_uav123', 'read_vot']
