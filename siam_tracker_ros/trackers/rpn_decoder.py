"""The RPN-family decoder (spec §1.5, steps 2–7) and DASTSiam's confidence gate (§7).

Pure numpy functions of one frame's head outputs. Scores, deltas and anchors are flat over
the k·r² anchors in the order a·r² + i·r + j (see `ops.anchors`); anchors are relative to
the crop centre, in crop pixels.
"""
from dataclasses import dataclass

import numpy as np

from siam_tracker_ros.ops.anchors import AnchorError, decode as decode_boxes, split_channels
from siam_tracker_ros.ops.windows import hann2d

MIN_SIDE = 10.0
DASTSIAM_UPDATE_THRESHOLD = 1.18


@dataclass(frozen=True)
class RpnDecoded:
    """Decoder output for one frame (§1.5 steps 5 and 7).

    displacement: (dx, dy) of the target centre in image pixels.
    size: the blended (w, h) in image pixels, before the clip of step 6.
    score: p[best], unpenalised.
    best: flat index of the chosen anchor.
    penalty: the size/ratio penalty of the chosen anchor.
    """

    displacement: tuple
    size: tuple
    score: float
    best: int
    penalty: float


@dataclass(frozen=True)
class DastConfidence:
    """DASTSiam's c = p₁[best] + p₂[best], the output score c/2, and the update decision."""

    confidence: float
    score: float
    update: bool


def sigmoid(x) -> np.ndarray:
    """Overflow-free logistic function, 0.5·(1 + tanh(x/2))."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def foreground_probability(cls_map) -> np.ndarray:
    """(k·r²,) softmax foreground probability from a 2k×r×r logit map (channel cls·k + a)."""
    background, foreground = split_channels(np.asarray(cls_map, np.float64), 2)
    return sigmoid(foreground - background)


def deltas_from_map(reg_map) -> np.ndarray:
    """(k·r², 4) deltas (dx, dy, dw, dh) from a 4k×r×r map (channel d·k + a)."""
    return split_channels(np.asarray(reg_map, np.float64), 4).T


def anchor_window(map_size: int, num_anchors: int) -> np.ndarray:
    """(k·r²,) outer product of two hann(r) windows, not normalised, tiled over anchors."""
    return np.tile(hann2d(map_size).ravel(), num_anchors)


def change(ratio) -> np.ndarray:
    """chg(t) = max(t, 1/t)."""
    return np.maximum(ratio, 1.0 / ratio)


def padded_side(w, h) -> np.ndarray:
    """sz(w, h) = √((w + pd)(h + pd)) with pd = (w + h)/2."""
    pad = (w + h) / 2
    return np.sqrt((w + pad) * (h + pad))


def size_penalty(boxes: np.ndarray, size, scale_z: float, penalty_k: float) -> np.ndarray:
    """exp(−(r_c·s_c − 1)·k) for (N, 4) decoded crop boxes against the current (w, h)."""
    w, h = size
    s_c = change(padded_side(boxes[:, 2], boxes[:, 3]) / padded_side(w * scale_z, h * scale_z))
    r_c = change((w / h) / (boxes[:, 2] / boxes[:, 3]))
    return np.exp(-(r_c * s_c - 1) * penalty_k)


def decode(probabilities, deltas, anchors, window, size, scale_z: float, *, penalty_k: float,
           window_influence: float, lr: float) -> RpnDecoded:
    """Choose the best anchor and the new centre step and size (§1.5 steps 2–5, 7).

    Args:
        probabilities: (N,) foreground probabilities p.
        deltas: (N, 4) regression deltas.
        anchors: (N, 4) anchors relative to the crop centre (`anchor_grid(...).reshape(-1, 4)`).
        window: (N,) window W, `anchor_window(r, k)`.
        size: current target (w, h) in image pixels.
        scale_z: crop pixels per image pixel, Z / s_z.
    """
    p = np.asarray(probabilities, np.float64).ravel()
    anchors = np.asarray(anchors, np.float64).reshape(-1, 4)
    if not len(p) == len(deltas) == len(anchors) == len(window):
        raise AnchorError(f'{len(p)} scores, {len(deltas)} deltas, {len(anchors)} anchors and '
                          f'{len(window)} window values must agree')
    boxes = decode_boxes(deltas, anchors)
    penalty = size_penalty(boxes, size, scale_z, penalty_k)
    pscore = (1 - window_influence) * penalty * p + window_influence * window
    best = int(np.argmax(pscore))
    return chosen_step(best, boxes[best], float(p[best]), float(penalty[best]), size, scale_z,
                       lr)


def chosen_step(best: int, crop_box, score: float, penalty: float, size, scale_z: float,
                lr: float) -> RpnDecoded:
    """Step 5 and 7 for the chosen anchor (index `best`, its decoded (cx, cy, w, h) in crop
    pixels, p and penalty there): the centre step and the size blended at rate
    penalty·p·lr. Shared by `decode` and the device step (`rpn_device_decoder`)."""
    box = np.asarray(crop_box, np.float64) / scale_z
    rate = penalty * score * lr
    new_size = tuple(float((1 - rate) * s + rate * b) for s, b in zip(size, box[2:]))
    return RpnDecoded((float(box[0]), float(box[1])), new_size, float(score), int(best),
                      float(penalty))


def clip_target(center, size, image_width: int, image_height: int):
    """Step 6 (pysot): cx ∈ [0, W], cy ∈ [0, H], w ∈ [10, W], h ∈ [10, H]."""
    cx = min(max(float(center[0]), 0.0), image_width)
    cy = min(max(float(center[1]), 0.0), image_height)
    w = min(max(float(size[0]), MIN_SIDE), image_width)
    h = min(max(float(size[1]), MIN_SIDE), image_height)
    return (cx, cy), (w, h)


def dastsiam_probabilities(cls1_map, cls2_map):
    """(p₁, p₂): softmax foreground of the 2×r×r cls1 map and sigmoid of the 1×r×r cls2 map.

    The decoder then runs with p = (p₁ + p₂)/2 (§7 Inference step 2).
    """
    return foreground_probability(cls1_map), sigmoid(np.asarray(cls2_map).ravel())


def dastsiam_confidence(p1, p2, best: int,
                        threshold: float = DASTSIAM_UPDATE_THRESHOLD) -> DastConfidence:
    """c = p₁[best] + p₂[best]; score c/2; update the template iff c > threshold (§7)."""
    return dastsiam_gate(float(p1[best]), float(p2[best]), threshold)


def dastsiam_gate(p1: float, p2: float,
                  threshold: float = DASTSIAM_UPDATE_THRESHOLD) -> DastConfidence:
    """`dastsiam_confidence` from p₁ and p₂ at the chosen anchor."""
    confidence = p1 + p2
    return DastConfidence(confidence, confidence / 2, confidence > threshold)
