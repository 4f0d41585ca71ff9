"""The RPN-family choice (spec §1.5 steps 2–5) on head outputs that stay on the device.

The arithmetic of `rpn_decoder` (the foreground probability as 0.5·(1 + tanh(x/2)), the
anchor decode, the size/ratio penalty, the window blend, the argmax), in float64 torch, so
that given the same maps the device picks the same anchor as the NumPy decoder. A GPU step
then brings back a handful of numbers and the r×r cell map, not the k·r² anchors' maps.
"""
import torch

from siam_tracker_ros.ops.anchors import split_channels
from siam_tracker_ros.trackers import rpn_decoder


def foreground_probability(cls_map: torch.Tensor) -> torch.Tensor:
    """(k·r²,) float64 foreground probability from a 2k×r×r logit map (channel cls·k + a)."""
    background, foreground = split_channels(cls_map.double(), 2)
    return 0.5 * (1.0 + torch.tanh(0.5 * (foreground - background)))


def logistic(values: torch.Tensor) -> torch.Tensor:
    """(N,) float64 sigmoid of a map, flat, as `rpn_decoder.sigmoid`."""
    return 0.5 * (1.0 + torch.tanh(0.5 * values.double().flatten()))


def box_deltas(reg_map: torch.Tensor, limit: float) -> torch.Tensor:
    """(k·r², 4) float64 deltas from a 4k×r×r map, dw and dh clamped to ±limit."""
    deltas = split_channels(reg_map.double(), 4).T.clone()
    deltas[:, 2:] = deltas[:, 2:].clamp(-limit, limit)
    return deltas


def change(ratio: torch.Tensor) -> torch.Tensor:
    """chg(t) = max(t, 1/t)."""
    return torch.maximum(ratio, 1.0 / ratio)


def padded_side(w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """sz(w, h) = √((w + pd)(h + pd)) with pd = (w + h)/2."""
    pad = (w + h) / 2
    return torch.sqrt((w + pad) * (h + pad))


def choose_anchor(probabilities: torch.Tensor, deltas: torch.Tensor, anchors: torch.Tensor,
                  window: torch.Tensor, size, scale_z: float, *, penalty_k: float,
                  window_influence: float) -> torch.Tensor:
    """(best index, cx, cy, w, h of its box in crop px, its penalty) as a float64 tensor of 6
    on the maps' device; the arguments are those of `rpn_decoder.decode` as tensors."""
    w, h = float(size[0]), float(size[1])
    boxes = torch.cat([deltas[:, :2] * anchors[:, 2:] + anchors[:, :2],
                       torch.exp(deltas[:, 2:]) * anchors[:, 2:]], dim=1)
    s_c = change(padded_side(boxes[:, 2], boxes[:, 3])
                 / float(rpn_decoder.padded_side(w * scale_z, h * scale_z)))
    r_c = change((w / h) / (boxes[:, 2] / boxes[:, 3]))
    penalty = torch.exp(-(r_c * s_c - 1) * penalty_k)
    pscore = (1 - window_influence) * penalty * probabilities + window_influence * window
    best = torch.argmax(pscore).view(1)               # index ops below: no host sync
    return torch.cat([best.double(), boxes.index_select(0, best)[0],
                      penalty.index_select(0, best)])
