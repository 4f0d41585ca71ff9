"""LOST as a failure detector: replay the status on cached records, score it, choose settings.

A tracked frame is *truly lost* when its IoU with the ground truth is below TRUE_LOST_IOU
(frames without ground truth are left out). The status is scored per frame (precision and
recall of LOST) and per loss episode (a maximal run of truly lost frames): whether LOST
fires during it and how many frames after its start (the delay).
"""
import dataclasses
import itertools
import random
from dataclasses import dataclass

import numpy as np

from siam_tracker_ros.evaluation.lost_records import FEATURES
from siam_tracker_ros.ops.confidence import MapConfidence
from siam_tracker_ros.status import LOST, TargetStatus

TRUE_LOST_IOU = 0.1
# Values tried for each status field by `choose_setting`.
SEARCH_SPACE = {
    'lost_score': (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95),
    'lost_drop': (0.0, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95),
    'lost_apce': (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    'lost_psr': (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    'lost_colour': (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9),
    'level_rate': (0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
    'lost_frames': (1, 2, 3, 5, 8, 12),
    'recover_score': (0.0, 0.5, 0.7, 0.8, 0.9, 0.95),
    'recover_frames': (1, 2, 3, 5, 8),
}
ROUNDS = 3
SAMPLES = 2000
# Features that are high on a lost frame (the others are low there).
HIGH_WHEN_LOST = ('second_peak',)


@dataclass(frozen=True)
class LostScore:
    """How well LOST marks the truly lost frames of some sequences.

    frames: tracked frames with ground truth; lost: truly lost ones; flagged: LOST ones;
    hits: both. episodes: loss episodes; caught: episodes during which LOST fired;
    delays: for each caught one, frames from its start to the first LOST frame.
    """

    frames: int = 0
    lost: int = 0
    flagged: int = 0
    hits: int = 0
    episodes: int = 0
    caught: int = 0
    delays: tuple = ()

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else float('nan')

    @property
    def recall(self) -> float:
        return self.hits / self.lost if self.lost else float('nan')

    @property
    def median_delay(self) -> float:
        return float(np.median(self.delays)) if self.delays else float('nan')

    def __add__(self, other):
        return LostScore(*(getattr(self, f.name) + getattr(other, f.name)
                           for f in dataclasses.fields(self)))


def replay(record: dict, config) -> np.ndarray:
    """The states a `TargetStatus` with `config` gives on a record's frames."""
    status = TargetStatus(config)
    status.start()
    columns = [record[name] for name in FEATURES]
    states = np.empty(len(record['iou']), np.int64)
    for i, values in enumerate(zip(*columns)):
        confidence = MapConfidence(*(float(v) for v in values))
        states[i] = status.update(confidence.score, confidence)
    return states


def score_states(states: np.ndarray, iou: np.ndarray) -> LostScore:
    """Per-frame and per-episode agreement of LOST with IoU < TRUE_LOST_IOU."""
    known = np.isfinite(iou)
    truth = known & (np.nan_to_num(iou, nan=1.0) < TRUE_LOST_IOU)
    flagged = known & (states == LOST)
    delays = []
    for start, stop in episodes(truth):
        fired = np.flatnonzero(flagged[start:stop])
        if fired.size:
            delays.append(int(fired[0]))
    return LostScore(int(known.sum()), int(truth.sum()), int(flagged.sum()),
                     int((truth & flagged).sum()), len(episodes(truth)), len(delays),
                     tuple(delays))


def episodes(truth: np.ndarray) -> list:
    """[(start, stop)] of the maximal runs of True."""
    edges = np.diff(np.concatenate([[0], truth.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def separation(records, name: str) -> float:
    """How well feature `name` alone tells truly lost frames from tracked ones: the area under
    its ROC curve, the chance that a truly lost frame looks more lost than a tracked one (ties
    count half; 0.5 is chance). NaN without both kinds of frame."""
    iou = np.concatenate([r['iou'] for r in records])
    values = np.concatenate([r[name] for r in records]).astype(np.float64)
    if name in HIGH_WHEN_LOST:
        values = -values
    known = np.isfinite(iou)
    truth = np.nan_to_num(iou, nan=1.0) < TRUE_LOST_IOU
    lost, tracked = values[known & truth], np.sort(values[known & ~truth])
    if not lost.size or not tracked.size:
        return float('nan')
    right = np.searchsorted(tracked, lost, 'right')
    ties = right - np.searchsorted(tracked, lost, 'left')
    return float(((tracked.size - right).sum() + 0.5 * ties.sum()) / (lost.size * tracked.size))


def score_records(records, config) -> LostScore:
    """`score_states` summed over records."""
    return sum((score_states(replay(r, config), r['iou']) for r in records), LostScore())


def objective(scores) -> tuple:
    """What `choose_setting` maximises: the worst min(precision, recall) over the runs, then
    the worst F1 (NaN counts as 0)."""
    def safe(value):
        return 0.0 if np.isnan(value) else value
    worst = min(min(safe(s.precision), safe(s.recall)) for s in scores)
    f1 = min(2 * safe(s.precision) * safe(s.recall) / max(safe(s.precision) + safe(s.recall),
                                                           1e-9) for s in scores)
    return worst, f1


def choose_setting(runs: list, base_config, space=None, samples: int = SAMPLES,
                   seed: int = 0) -> tuple:
    """Maximise `objective` over `space` (default SEARCH_SPACE) with rule 'confidence':
    `samples` seeded random settings, then coordinate ascent from the best of them.
    `runs` is a list of record lists (one per weights file), all scored at once.

    Returns (config, [LostScore per run]).
    """
    space = space or SEARCH_SPACE
    rng = random.Random(seed)
    base = dataclasses.replace(base_config, lost_rule='confidence')
    trials = [base] + [dataclasses.replace(base, **{k: rng.choice(v) for k, v in space.items()})
                       for _ in range(samples)]
    best, best_scores = max(((c, score_runs(runs, c)) for c in trials),
                            key=lambda item: objective(item[1]))
    for _, name in itertools.product(range(ROUNDS), space):
        for value in space[name]:
            trial = dataclasses.replace(best, **{name: value})
            scores = score_runs(runs, trial)
            if objective(scores) > objective(best_scores):
                best, best_scores = trial, scores
    return best, best_scores


def score_runs(runs, config) -> list:
    """[`score_records`] for each run."""
    return [score_records(records, config) for records in runs]
