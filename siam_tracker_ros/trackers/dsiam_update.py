"""DSiam's online update (spec §3 "Online update") as pure functions: state in, state out.

`update_state` is the success/failure rule (check DS-5); `update_patches` crops O_t, G_t and
Ḡ_t = G_t ⊙ M, from which the network learns V_t and W_t (DSiamNet.learn_v / learn_w).
"""
from dataclasses import dataclass, replace

import numpy as np

from siam_tracker_ros.ops.crop import crop_patch

FAIL_GROWTH = 1.1


@dataclass(frozen=True)
class ScaleState:
    """Target size (w, h), crop sides s_z and s_x, s_x at init, and the fail flag.

    `failed` means the last frame failed: V and W are off (identity) until the next success.
    """

    size: tuple
    s_z: float
    s_x: float
    s_x0: float
    failed: bool = False

    @property
    def transforms_on(self) -> bool:
        """False after a failure; on success the caller learns new V and W."""
        return not self.failed


def update_state(state: ScaleState, peak: float, scale_gain: float, *, exemplar_size=127,
                 instance_size=255, limits=(0.2, 5.0), fail_growth=FAIL_GROWTH) -> ScaleState:
    """The state after a frame whose penalised peak is `peak` (spec §3, §1.4 step 8).

    Failure (peak ≤ 0 or NaN): s_x ← clamp(fail_growth·s_x), size and s_z unchanged, flag set.
    Success after a failure: s_x ← s_z·X/Z from the current size, flag cleared, no damping.
    Other successes: the normal damping, s_x ← clamp(g·s_x) with g = `scale_gain`, and the size
    and s_z follow the applied factor (as SiameseTracker.move). Clamping is to limits·s_x0.
    """
    low, high = limits[0] * state.s_x0, limits[1] * state.s_x0
    if not peak > 0:
        return replace(state, s_x=float(np.clip(fail_growth * state.s_x, low, high)),
                       failed=True)
    if state.failed:
        return replace(state, s_x=state.s_z * instance_size / exemplar_size, failed=False)
    s_x = float(np.clip(state.s_x * scale_gain, low, high))
    applied = s_x / state.s_x
    size = tuple(float(v) * applied for v in state.size)
    return ScaleState(size, state.s_z * applied, s_x, state.s_x0)


def update_patches(image: np.ndarray, center, s_z: float, search_side: float, pad_color,
                   mask: np.ndarray, exemplar_size: int = 127, instance_size: int = 255):
    """(O_t, G_t, Ḡ_t) at the new centre: O_t uint8 Z×Z×3, G_t uint8 X×X×3, Ḡ_t float32.

    s_z is taken from the size before the scale update and `search_side` = s_x·f_{i*}; the
    mask M (ops/windows.dsiam_search_mask) multiplies the raw 0–255 pixels of all channels.
    """
    if mask.shape != (instance_size, instance_size):
        raise ValueError(f'mask {mask.shape} does not match the {instance_size}² search crop')
    target = crop_patch(image, center, s_z, exemplar_size, pad_color)
    search = crop_patch(image, center, search_side, instance_size, pad_color)
    masked = (search.astype(np.float32) * mask[:, :, None].astype(np.float32))
    return target, search, masked
