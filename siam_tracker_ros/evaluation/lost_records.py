"""Per-frame confidence records of a tracker run, cached under runs/ (docs/ros.md, LOST).

One pass of a tracker over a sequence gives, for every tracked frame, the response map's
confidence features (`ops.confidence`) and the IoU of the box with the ground truth. The
status thresholds do not change the boxes, so the thresholds can be re-chosen from the
records without running the network again.
"""
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from siam_tracker_ros.evaluation.metrics import rect_iou
from siam_tracker_ros.evaluation.results import weights_identity
from siam_tracker_ros.evaluation.runner import load_frame
from siam_tracker_ros.ops.confidence import MapConfidence
from siam_tracker_ros.status import StatusConfig

FEATURES = tuple(f.name for f in dataclasses.fields(MapConfidence))
RECORD_VERSION = 2           # 2: records carry the colour objectness
REDETECT_FIELDS = ('redetect', 'redetect_tiles', 'redetect_confirm')


def status_fields() -> set:
    """Config fields that only decide the state (they never move the box)."""
    return {f.name for f in dataclasses.fields(StatusConfig)}


def run_fingerprint(tracker) -> str:
    """A short hash of what decides the boxes: tracker, weights file (its bytes) and config
    (without the status fields unless re-detection is on: then the status moves the box too)."""
    config = dataclasses.asdict(tracker.config)
    if not config.get('redetect'):
        unused = status_fields() | set(REDETECT_FIELDS)
        config = {k: v for k, v in config.items() if k not in unused}
    text = json.dumps([RECORD_VERSION, tracker.name, config,
                       weights_identity(tracker.weights_path)], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def record_sequence(tracker, sequence) -> dict:
    """Init on frame 0, track the rest; per tracked frame the features, IoU and state.

    Returns {feature: (N−1,) array for each of FEATURES, 'iou': (N−1,) (NaN where the ground
    truth is missing), 'state': (N−1,) the tracker's own state (of the status config at
    recording time; replay it for another), 'box': (N−1, 4)}.
    """
    first = tuple(float(v) for v in sequence.boxes[0])
    image = load_frame(sequence.frames[0])
    tracker.init(image, first)
    rows, states, boxes = [], [], []
    for path in sequence.frames[1:]:
        image = load_frame(path)
        result = tracker.track(image)
        rows.append([getattr(result.confidence, name) for name in FEATURES])
        states.append(result.state)
        boxes.append(result.box)
    record = {name: np.array([r[i] for r in rows], np.float64) for i, name in enumerate(FEATURES)}
    bound = (image.shape[1], image.shape[0])
    record['iou'] = rect_iou(np.array(boxes).reshape(-1, 4), sequence.boxes[1:], bound)
    record['state'] = np.array(states, np.int64)
    record['box'] = np.array(boxes, np.float64).reshape(-1, 4)
    return record


def cached_record(tracker, sequence, cache_dir) -> dict:
    """`record_sequence`, read from `cache_dir/<fingerprint>/<sequence>.npz` when there."""
    path = Path(cache_dir) / run_fingerprint(tracker) / f'{sequence.name}.npz'
    if path.is_file():
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    record = record_sequence(tracker, sequence)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path.with_suffix('.tmp.npz'), **record)
    path.with_suffix('.tmp.npz').replace(path)
    return record
