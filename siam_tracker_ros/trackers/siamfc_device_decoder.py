"""The SiamFC-family decision (spec §1.4 steps 3–6) on response maps that stay on the device.

Same arithmetic as `siamfc_decoder.upsample` / `decide` (bicubic a = −0.75 with half-pixel
centres and clamped edges, the penalised per-map peak, the chosen map shifted to 0, normalised
and blended with the window), in float32 torch, so a GPU step needs no host transfer before
the decision. Its result is four numbers; `siamfc_decoder.decision` turns them into `Decoded`.
"""
import torch
import torch.nn.functional as F


def upsample_maps(maps: torch.Tensor, up: int) -> torch.Tensor:
    """n×r×r maps upsampled by `up` (bicubic, as `siamfc_decoder.upsample`)."""
    return F.interpolate(maps[:, None].float(), scale_factor=up, mode='bicubic',
                         align_corners=False)[:, 0]


def decide_on_device(maps: torch.Tensor, penalties: torch.Tensor, window_influence: float,
                     window: torch.Tensor, up: int) -> torch.Tensor:
    """(best map index, peak row, peak col, best map's raw peak) as a float32 tensor of 4 on
    the maps' device, from n×r×r raw maps (pair-major), their n penalties and the U×U
    normalised window (U = up·r)."""
    upsampled = upsample_maps(maps, up)
    peaks = upsampled.flatten(1).amax(dim=1)
    best = torch.argmax(peaks * penalties).view(1)   # index ops below: no host sync
    chosen = upsampled.index_select(0, best)[0]
    chosen = chosen - chosen.min()
    chosen = chosen / (chosen.sum() + 1e-16)
    scores = (1 - window_influence) * chosen + window_influence * window
    flat = torch.argmax(scores).view(1)
    side = scores.shape[-1]
    return torch.cat([best.float(), (flat // side).float(), (flat % side).float(),
                      peaks.index_select(0, best)])
