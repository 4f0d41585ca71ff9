"""Validation: one-pass success AUC of a network inside its registered tracker."""
import numpy as np

from siam_tracker_ros.data.media import SkipCounter, read_rgb
from siam_tracker_ros.evaluation.metrics import auc, rect_iou, success_curve


def load_sequences(root, max_frames: int = 0) -> list:
    """OTB-layout sequences (the dev set) via the shared reader, optionally truncated."""
    from siam_tracker_ros.datasets.otb import read_otb
    sequences = read_otb(root)
    if max_frames:
        return [(s.name, s.frames[:max_frames], s.boxes[:max_frames]) for s in sequences]
    return [(s.name, s.frames, s.boxes) for s in sequences]


def run_sequence(tracker, frames, boxes, skipped: SkipCounter) -> np.ndarray:
    """Track one sequence from its first box; return (N, 4) predictions."""
    predictions = np.full((len(frames), 4), np.nan)
    first = read_rgb(frames[0], skipped, max_side=100000)
    tracker.init(first, tuple(boxes[0]))
    predictions[0] = boxes[0]
    for index in range(1, len(frames)):
        image = read_rgb(frames[index], skipped, max_side=100000)
        if image is not None:
            predictions[index] = tracker.track(image).box
    return predictions


def tracker_for(net, input_format, tracker_name: str, settings=None):
    """The registered tracker (with config field `settings` over its YAML) with `net` swapped
    in (spec §1.7: modules are attributes)."""
    from siam_tracker_ros.build import build_tracker
    tracker = build_tracker(tracker_name, **(settings or {}))
    tracker.net = net.eval()
    tracker.input_format = input_format
    return tracker


def evaluate(tracker, sequences) -> dict:
    """{sequence name: success AUC} and 'mean' over sequences."""
    skipped = SkipCounter()
    scores = {}
    for name, frames, boxes in sequences:
        predictions = run_sequence(tracker, frames, boxes, skipped)
        scores[name] = auc(success_curve(rect_iou(predictions, boxes)))
    scores['mean'] = float(np.mean(list(scores.values()))) if scores else float('nan')
    return scores
