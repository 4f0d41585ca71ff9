"""Multi-size testing for the SiamFC family (spec §4, seed 001 §4.2).

Each (Q1, Q2) pair of `config.size_pairs` crops the same context region s_z to Q1 (one template
kernel per pair, made at init) and a search side s_z·Q2/Q1 to Q2. Every (pair, scale) map goes
through the §1.4 decision together (`decode_pairs`); step 7 uses the chosen pair's Q2 and s_x.
With the single pair (exemplar_size, instance_size) every number equals `ScalePyramidTracker`'s.
"""
import torch

from siam_tracker_ros.ops.crop import crop_patch, template_side
from siam_tracker_ros.runtime import exact_fp32
from siam_tracker_ros.trackers.pyramid import ScalePyramidTracker
from siam_tracker_ros.types import TrackerStateError, as_rgb_image


def centre_cells(maps, side: int):
    """The centre side×side cells of n×n maps (array or tensor; n − side even)."""
    start = (maps.shape[-1] - side) // 2
    return maps[..., start:start + side, start:start + side]


class MultiSizePyramidTracker(ScalePyramidTracker):
    """ScalePyramidTracker over several (template, search) crop sizes.

    The state keeps s_x of the (exemplar_size, instance_size) geometry (so the scale update and
    its clamp are the family's); pair k searches s_x·ratio_k with
    ratio_k = (Q2/Q1) / (instance_size/exemplar_size), i.e. s_z·Q2/Q1. `state.kernel` holds one
    kernel per pair.
    """

    batch_targets = False  # crops of several sizes: several targets are tracked one at a time
    redetects = False

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.pairs = tuple(tuple(pair) for pair in config.size_pairs)
        base = config.instance_size / config.exemplar_size
        self.side_ratios = tuple(q2 / q1 / base for q1, q2 in self.pairs)

    def on_init(self, image) -> None:
        """One template kernel per pair (`pair_kernels`)."""
        self.state.kernel = self.pair_kernels(image, self.state.kernel)

    def fresh_kernel(self, image) -> tuple:
        return self.pair_kernels(image, super().fresh_kernel(image))

    def pair_kernels(self, image, base) -> tuple:
        """Per pair, the kernel of the region s_z at the current box resized to that pair's
        Q1 (`base`, the exemplar_size kernel, where Q1 = exemplar_size)."""
        st, cfg = self.state, self.config
        s_z = template_side(st.size[0], st.size[1], cfg.context)
        kernels = []
        for q1, _ in self.pairs:
            if q1 == cfg.exemplar_size:
                kernels.append(base)
                continue
            patch = crop_patch(image, st.center, s_z, q1, st.pad_color)
            with exact_fp32(self.device):
                kernels.append(self._runner.template(patch[None]))
        return tuple(kernels)

    def search_sides(self) -> list:
        """Per pair, its search side at scale factor 1 (image px)."""
        return [self.state.s_x * ratio for ratio in self.side_ratios]

    def pair_geometry(self) -> tuple:
        return self.search_sides(), [q2 for _, q2 in self.pairs]

    def search_windows(self, image_shape) -> list:
        """Per pair, its n search windows (cropped to Q2², one per scale factor)."""
        centres = [self.state.center] * len(self.factors)
        return [(q2, centres, [side * f for f in self.factors])
                for (_, q2), side in zip(self.pairs, self.search_sides())]

    def grouped(self, crops: list) -> list:
        """One batch of crops per pair."""
        return crops

    def network_maps(self, crops) -> torch.Tensor:
        """(P·n)×1×r×r logits, pair-major (one network call per pair). A padded trunk gives
        larger maps for larger pairs; each keeps its centre r×r, r the smallest side (the
        centre is zero displacement in every map, so the geometry is unchanged)."""
        with torch.inference_mode():
            maps = [self._runner.respond(kernel, batch)
                    for kernel, batch in zip(self.state.kernel, crops)]
        side = min(m.shape[-1] for m in maps)
        return torch.cat([centre_cells(m, side) for m in maps])

    def frame_macs(self, image) -> int:
        """Multiply-accumulates of one frame's network calls, summed over the pairs."""
        if self.state is None:
            raise TrackerStateError(f'{self.name}: frame_macs() needs init() first')
        crops = self.search_crops(as_rgb_image(image))
        return sum(self.network_macs(q1, batch) for (q1, _), batch in zip(self.pairs, crops))
