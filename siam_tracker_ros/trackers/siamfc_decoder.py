"""The SiamFC-family decoder (spec §1.4), as pure functions of response maps."""
from dataclasses import dataclass

import cv2
import numpy as np

from siam_tracker_ros.ops.windows import hann2d


@dataclass(frozen=True)
class Decoded:
    """Decoder output for one frame.

    displacement: (dx, dy) of the target centre in image pixels.
    scale_index: index i* of the chosen scale factor.
    raw_peak: max of the chosen upsampled map before the scale penalty.
    peak: the same after the penalty.
    pair_index: index of the chosen crop-size pair (0 unless several sizes, `decode_pairs`).
    """

    displacement: tuple
    scale_index: int
    raw_peak: float
    peak: float
    pair_index: int = 0


def scale_factors(scale_num: int, scale_step: float) -> np.ndarray:
    """f_i = q_s^i for i = −⌊n/2⌋ … ⌊n/2⌋."""
    half = scale_num // 2
    return scale_step ** np.arange(-half, half + 1, dtype=np.float64)


def upsample(responses: np.ndarray, up: int) -> np.ndarray:
    """Bicubic (a = −0.75, half-pixel centres) upsampling of n×r×r maps by `up`."""
    size = up * responses.shape[-1]
    return np.stack([cv2.resize(np.ascontiguousarray(r, np.float32), (size, size),
                                interpolation=cv2.INTER_CUBIC) for r in responses])


def decode(responses: np.ndarray, factors: np.ndarray, search_side: float, *,
           scale_penalty: float, window_influence: float, response_up: int,
           total_stride: int, instance_size: int, window: np.ndarray = None,
           upsampled: np.ndarray = None) -> Decoded:
    """Pick the scale and peak from n raw r×r response maps (steps 3–7 of §1.4).

    Args:
        responses: n×r×r logits, one per scale factor.
        factors: the n scale factors f_i.
        search_side: s_x, the search window side in image pixels at factor 1.
        window: optional precomputed U×U normalised Hann window.
        upsampled: optional `upsample(responses, response_up)`, when the caller has it.
    """
    return decode_pairs(responses, factors, (search_side,), (instance_size,),
                        scale_penalty=scale_penalty, window_influence=window_influence,
                        response_up=response_up, total_stride=total_stride, window=window,
                        upsampled=upsampled)


def decode_pairs(responses: np.ndarray, factors: np.ndarray, search_sides, search_sizes, *,
                 scale_penalty: float, window_influence: float, response_up: int,
                 total_stride: int, window: np.ndarray = None,
                 upsampled: np.ndarray = None) -> Decoded:
    """The §1.4 decision over several crop sizes (spec §4 multi-size test): every
    (pair, scale) map competes in step 4; step 7 uses the chosen pair's s_x and X.

    Args:
        responses: (P·n)×r×r logits, pair-major: pair k's n scales are rows k·n … k·n+n−1.
        factors: the n scale factors f_i.
        search_sides: per pair, its search side in image pixels at factor 1.
        search_sizes: per pair, its search crop size X in pixels.
        window, upsampled: as in `decode`.
    """
    maps = upsample(responses, response_up) if upsampled is None else upsampled
    size = maps.shape[-1]
    if len(maps) != len(factors) * len(search_sides) or len(search_sides) != len(search_sizes):
        raise ValueError(f'{len(maps)} maps do not match {len(search_sides)} crop size(s) × '
                         f'{len(factors)} scales')
    if window is None:
        window = hann2d(size, normalise=True)
    penalties = pair_penalties(len(factors), len(search_sides), scale_penalty)
    best, peak, peaks = decide(maps, penalties, window_influence, window)
    return decision(best, peak, float(peaks[best]), size, factors, search_sides, search_sizes,
                    penalties=penalties, response_up=response_up, total_stride=total_stride)


def decision(best: int, peak, raw_peak: float, map_side: int, factors, search_sides,
             search_sizes, *, penalties, response_up: int, total_stride: int) -> Decoded:
    """The `Decoded` of map `best` (pair-major index) peaking at (row, col) `peak` of its
    map_side² upsampled map with value `raw_peak` (steps 4–7 of §1.4, after the argmaxes)."""
    pair, scale = divmod(best, len(factors))
    displacement = peak_displacement(peak, map_side, total_stride / response_up
                                     * search_sides[pair] * factors[scale] / search_sizes[pair])
    return Decoded(displacement, scale, raw_peak, raw_peak * float(penalties[best]), pair)


def pair_penalties(scale_num: int, pairs: int, scale_penalty: float) -> np.ndarray:
    """The scale penalty of every (pair, scale) map, pair-major."""
    return np.tile(scale_penalties(scale_num, scale_penalty), pairs)


def peak_displacement(peak, map_side: int, step: float) -> tuple:
    """Step 7 of §1.4: (dx, dy) in image px of the (row, col) `peak` of a map_side² upsampled
    map from its centre; `step` = total_stride / response_up · (s_x·f) / X px per map cell."""
    offset = (map_side - 1) / 2
    return ((peak[1] - offset) * step, (peak[0] - offset) * step)


def scale_penalties(scale_num: int, scale_penalty: float) -> np.ndarray:
    """The penalty applied to each scale's peak: 1 for the middle scale, `scale_penalty` else."""
    penalties = np.full(scale_num, scale_penalty)
    penalties[scale_num // 2] = 1.0
    return penalties


def decide(maps: np.ndarray, penalties: np.ndarray, window_influence: float,
           window: np.ndarray):
    """(scale index, (row, col) of the peak, per-scale peaks) from n upsampled maps."""
    n = maps.shape[0]
    peaks = maps.reshape(n, -1).max(axis=1)
    best = int(np.argmax(peaks * penalties))
    chosen = position_scores(maps[best], window_influence, window)
    peak = np.unravel_index(int(np.argmax(chosen)), chosen.shape)
    return best, (int(peak[0]), int(peak[1])), peaks


def position_scores(upsampled_map: np.ndarray, window_influence: float, window: np.ndarray):
    """The chosen scale's map shifted to 0, normalised to sum 1 and blended with the window."""
    chosen = upsampled_map - upsampled_map.min()
    chosen = chosen / (chosen.sum() + 1e-16)
    return (1 - window_influence) * chosen + window_influence * window


def scale_update(scale_lr: float, factor: float) -> float:
    """g = (1 − scale_lr) + scale_lr·f_{i*}."""
    return (1 - scale_lr) + scale_lr * factor
