"""CUDA and fp16 paths agree with the CPU path (run wherever CUDA exists)."""
import cv2
import numpy as np
import pytest

from siam_tracker_ros import build_tracker

pytestmark = pytest.mark.cuda


def track_boxes(sot_dir, frames=12, **options):
    sequence = sot_dir / 'otb_DragonBaby' / 'img'
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
              for p in sorted(sequence.iterdir())[:frames]]
    tracker = build_tracker('siamfc', seed=3, **options)
    tracker.init(images[0], (159, 82, 56, 65))
    return tracker, np.array([tracker.track(image).box for image in images[1:]])


def test_cuda_fp32_matches_cpu(sot_dir):
    tracker, cuda = track_boxes(sot_dir, device='cuda', backend='fused')
    assert tracker.device.type == 'cuda'
    _, cpu = track_boxes(sot_dir, device='cpu', backend='fused')
    assert np.abs(cuda - cpu).max() <= 0.5


def test_cuda_fp16_close_to_cpu(sot_dir):
    tracker, half = track_boxes(sot_dir, device='cuda', backend='fused', precision='fp16')
    _, cpu = track_boxes(sot_dir, device='cpu', backend='fused')
    assert np.abs(half - cpu).max() <= 2.0
