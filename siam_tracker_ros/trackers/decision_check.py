"""Checked reduced precision: would fp32 have made the same decoder decision?

bf16/fp16 response maps differ from fp32's by a small error that is smooth across the map.
The decoder takes an argmax over scales and positions, so at a near-tie that error can flip
the decision, and after one flip every later crop differs (docs/trackers/siamfc.md). A
`DecisionCheck` decides again on the reduced-precision maps plus and minus a few fixed smooth
fields as large as `ERROR_MARGIN` times the error measured on this target (on its first frame
and on every map redone in fp32 since), and asks that the peak beat its neighbours by more than
such an error could make up. What is not sure is redone in fp32 by the tracker: only the chosen
scale's map when the scale is sure, else every map. This tests against the error's typical
shape; it is not a proof: docs/trackers/siamfc.md has what it achieved on the dev set.
"""
from collections import deque

import cv2
import numpy as np

from siam_tracker_ros.trackers.siamfc_decoder import decide, position_scores, upsample

FIELD_COUNT = 6     # smooth error fields, each tried with both signs
FIELD_GRID = 5      # a field is bicubic noise from a FIELD_GRID² grid: smooth, like the error
ERROR_MARGIN = 2.0  # field amplitude over the measured error (relative to the map's range)
ERROR_MEMORY = 20   # the measured error is the largest of the last ERROR_MEMORY measurements
AUDIT_PERIOD = 8    # at least every AUDIT_PERIOD-th frame's chosen map is redone (and measured)
LOCAL_SLOPE = 1.0   # the error may change by LOCAL_SLOPE × its size across one raw map cell


def smooth_fields(count: int, scale_num: int, side: int, seed: int = 0) -> np.ndarray:
    """count×scale_num×side×side float32 smooth random fields, each with max |value| 1."""
    rng = np.random.default_rng(seed)
    fields = np.stack([[cv2.resize(rng.standard_normal((FIELD_GRID, FIELD_GRID)), (side, side),
                                   interpolation=cv2.INTER_CUBIC) for _ in range(scale_num)]
                       for _ in range(count)])
    return (fields / np.abs(fields).max(axis=(1, 2, 3), keepdims=True)).astype(np.float32)


def relative_map_error(reduced: np.ndarray, exact: np.ndarray) -> float:
    """max |reduced − exact| over the exact maps' range."""
    return float(np.abs(reduced - exact).max() / max(float(np.ptp(exact)), 1e-12))


SURE, SCALE_SURE, UNSURE = 'sure', 'scale sure', 'unsure'


class DecisionCheck:
    """Would fp32 make the decision that reduced-precision maps give?

    `verdict` answers SURE (keep the decision), SCALE_SURE (the scale is safe; redo the chosen
    scale's map in fp32 and pick the position on it) or UNSURE (redo every map in fp32).

    Args:
        shape: the raw response maps' shape (n, r, r).
        response_up, penalties, window_influence, window: the decoder's settings.
    """

    def __init__(self, shape, response_up: int, penalties: np.ndarray, window_influence: float,
                 window: np.ndarray):
        fields = smooth_fields(FIELD_COUNT, shape[0], shape[-1])
        self.fields = [upsample(field, response_up) for field in fields]  # upsampling is linear
        self.decider = (penalties, window_influence, window)
        self.response_up = response_up
        self.errors = deque(maxlen=ERROR_MEMORY)
        self.unmeasured = 0  # frames since the last measurement

    def measure(self, reduced: np.ndarray, exact: np.ndarray) -> None:
        """Record the error of reduced-precision maps against fp32 maps of the same crops."""
        error = relative_map_error(reduced, exact)
        self.unmeasured = 0
        if np.isfinite(error):
            self.errors.append(error)

    def verdict(self, raw: np.ndarray, upsampled: np.ndarray):
        """(how sure the decision on these maps is, its scale index); UNSURE until an error has
        been measured.

        raw: the n×r×r maps; upsampled: `upsample(raw, response_up)`.
        """
        self.unmeasured += 1
        if not self.errors:
            return UNSURE, None
        size = ERROR_MARGIN * max(self.errors) * float(np.ptp(raw))
        best, peak, _ = decide(upsampled, *self.decider)
        same_peak = self._clear_of_neighbours(upsampled[best], peak, size)
        for field in self.fields:
            for sign in (size, -size):
                scale, moved = decide(upsampled + sign * field, *self.decider)[:2]
                if scale != best:
                    return UNSURE, best
                same_peak = same_peak and moved == peak
        sure = same_peak and self.unmeasured < AUDIT_PERIOD
        return (SURE if sure else SCALE_SURE), best

    def _clear_of_neighbours(self, chosen: np.ndarray, peak, size: float) -> bool:
        """Does the peak beat its 8 neighbours by more than an error of `size`, changing by
        LOCAL_SLOPE × size per raw cell, could make up?"""
        _, window_influence, window = self.decider
        scores = position_scores(chosen, window_influence, window)
        span = (1 - window_influence) / max(float((chosen - chosen.min()).sum()), 1e-12)
        step = LOCAL_SLOPE * size / self.response_up * span
        y, x = peak
        near = scores[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
        margins = scores[y, x] - near
        margins[min(y, 1), min(x, 1)] = np.inf  # the peak itself
        return bool((margins > step).all())
