"""`toy`: a small tracker defined outside the library, registered as a plugin.

It exercises every seam of docs/architecture.md's "add a tracker" example without any change
to library files: its own config (toy.yaml beside this file), network, loss and decoder.
Loaded with SIAM_TRACKER_PLUGINS=toy_tracker and this folder on PYTHONPATH.
"""
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from siam_tracker_ros.ops.crop import crop_patch, template_side
from siam_tracker_ros.ops.windows import hann2d
from siam_tracker_ros.registry import TrackerEntry, register
from siam_tracker_ros.trackers.siamese import SiameseConfig, SiameseTracker
from siam_tracker_ros.training.data import draw_batch
from siam_tracker_ros.training.objectives import Objective


@dataclass(frozen=True)
class ToyConfig(SiameseConfig):
    """One search scale; `channels` features per 8×8 cell."""

    channels: int


class ToyNet(nn.Module):
    """Mean-centred 8×8 average pool, a 1×1 conv, and a normalised correlation head."""

    stride = 8

    def __init__(self, channels: int):
        super().__init__()
        self.embed = nn.Conv2d(3, channels, 1)
        with torch.no_grad():  # start as the colour channels themselves
            nn.init.eye_(self.embed.weight.view(channels, 3))
            self.embed.bias.zero_()

    def features(self, image):
        return self.embed(F.avg_pool2d(image - image.mean(dim=(1, 2, 3), keepdim=True), 8))

    def template(self, z):
        return self.features(z)

    def search(self, x):
        return self.features(x)

    def head(self, kernel, features):
        response = F.conv2d(features, kernel)
        return response / kernel.numel()

    def forward(self, z, x):
        return self.head(self.template(z), self.search(x))


def build_toy_net(config, backbone=None, pretrained_dir=None) -> ToyNet:
    return ToyNet(config.channels)


def toy_loss(net, batch, train) -> torch.Tensor:
    """Softmax cross-entropy on the response cell nearest the target centre."""
    z, x, targets = batch
    maps = net(z, x).flatten(1)
    side = int(math.isqrt(maps.size(1)))
    origin = (x.size(-1) - 1) / 2 - net.stride * (side // 2)
    cells = np.clip(np.round((np.asarray(targets)[:, :2] - origin) / net.stride), 0, side - 1)
    index = torch.as_tensor(cells[:, 1] * side + cells[:, 0], dtype=torch.long)
    return F.cross_entropy(maps, index.to(maps.device))


class ToyTracker(SiameseTracker):
    """One search crop at s_x = s_z·X/Z; the peak cell moves the centre; no scale change."""

    def search_crops(self, image):
        cfg, st = self.config, self.state
        s_x = template_side(st.size[0], st.size[1], cfg.context) * cfg.instance_size \
            / cfg.exemplar_size
        self.search_side = s_x
        return crop_patch(image, st.center, s_x, cfg.instance_size, st.pad_color)[None]

    def decode(self, maps):
        """Peak of the min-max normalised map plus an equal-weight Hann window."""
        response = maps[0, 0].float().cpu().numpy()
        if not np.isfinite(response).all():
            return None
        spread = np.ptp(response) or 1.0
        scores = (response - response.min()) / spread + hann2d(response.shape[0], normalise=False)
        row, col = np.unravel_index(int(np.argmax(scores)), scores.shape)
        half = response.shape[0] // 2
        step = self.net.stride * self.search_side / self.config.instance_size
        return (col - half) * step, (row - half) * step, float(response.max())

    def update(self, decoded, image_shape) -> float:
        dx, dy, peak = decoded
        self.move_center((dx, dy), image_shape)
        return 1.0 / (1.0 + math.exp(-min(max(peak, -50.0), 50.0)))


register(TrackerEntry(
    name='toy', tracker_class=ToyTracker, config_class=ToyConfig, build_net=build_toy_net,
    objective=Objective(make_batch=draw_batch, loss=toy_loss),
    summary='test plugin: single-scale average-pool tracker',
    config_file=Path(__file__).with_name('toy.yaml')))
