"""ResNeSt-50 trunk of `dyconv_fusion` (spec §5), dilated to output stride 8.

Radix 2, cardinality 1, bottleneck width 64, deep stem of width 32, avg-down shortcuts, avd
pooling after the split-attention conv ("avd last"), no FC or average pool. `dilated=True`:
layer3 stride 1 dilation 2 (its first block dilation 1), layer4 stride 1 dilation 4 (its first
block dilation 2), as ResNeSt and timm dilate; the stride-1 shortcuts then have no pooling.
`dilated=False` keeps the ImageNet strides (used to check weight conversion).

`dynamic=True` makes every conv of the stem, layer1 and layer2 a DynamicConv2d, except the 1×1
shortcut convs and the split-attention fc1/fc2 (§5); the split-attention 3×3 conv keeps
groups = 2.

Published weights use timm's `resnest50d` layout; convert them once with
    python -m siam_tracker_ros.models.resnest --convert resnest50d.pth resnest50_trunk.pt
Training looks for the converted file as `RESNEST50_FILE` in its pretrained-weights folder.
"""
import argparse
import re
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from siam_tracker_ros.models.dynamic_conv import DEFAULT_KERNELS, make_dynamic

RADIX = 2
STAGE_CHANNELS = (64, 256, 512, 1024, 2048)   # stem, layer1 … layer4
STATIC_CONVS = ('shortcut.1', 'split_attention.fc1', 'split_attention.fc2')
RESNEST50_FILE = 'resnest50_trunk.pt'   # converted ImageNet trunk, in our layout


def _conv_bn_relu(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SplitAttentionConv(nn.Module):
    """3×3 conv to radix·C channels (groups = radix), BN, ReLU, then a softmax over the radix
    splits from fc2(ReLU(BN(fc1(GAP(Σ splits))))); output C channels."""

    def __init__(self, channels, stride=1, dilation=1):
        super().__init__()
        attention = max(channels * RADIX // 4, 32)
        self.conv = nn.Conv2d(channels, channels * RADIX, 3, stride, dilation, dilation,
                              groups=RADIX, bias=False)
        self.bn = nn.BatchNorm2d(channels * RADIX)
        self.fc1 = nn.Conv2d(channels, attention, 1)
        self.bn_fc1 = nn.BatchNorm2d(attention)
        self.fc2 = nn.Conv2d(attention, channels * RADIX, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv(x)))
        batch, channels = x.size(0), x.size(1) // RADIX
        splits = x.view(batch, RADIX, channels, *x.shape[2:])
        gap = splits.sum(dim=1).mean(dim=(2, 3), keepdim=True)
        logits = self.fc2(F.relu(self.bn_fc1(self.fc1(gap))))
        weights = torch.softmax(logits.view(batch, RADIX, channels), dim=1)
        return (splits * weights[..., None, None]).sum(dim=1)


class SplitAttentionBottleneck(nn.Module):
    """1×1 → split-attention 3×3 → [avd 3×3 avg pool] → 1×1 (×4), plus the shortcut."""

    def __init__(self, cin, width, stride=1, dilation=1):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.split_attention = SplitAttentionConv(width, 1, dilation)
        self.avd = nn.AvgPool2d(3, stride, 1) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride > 1 or cin != cout:
            pool = (nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                    if stride > 1 else nn.Identity())
            self.shortcut = nn.Sequential(pool, nn.Conv2d(cin, cout, 1, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.avd(self.split_attention(out))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


def _stage(cin, width, blocks, stride, first_dilation, dilation):
    layers = [SplitAttentionBottleneck(cin, width, stride, first_dilation)]
    layers += [SplitAttentionBottleneck(width * 4, width, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def keeps_static(name: str) -> bool:
    """Convs that stay static in dynamic stages: 1×1 shortcuts, split-attention fc1/fc2."""
    return name.endswith(STATIC_CONVS)


class ResNeSt50(nn.Module):
    """ResNeSt-50 stages: stem (stride 4), layer1 (4), layer2 (8), layer3, layer4 (8 dilated)."""

    stride = 8
    stage_channels = STAGE_CHANNELS

    def __init__(self, dilated=True, dynamic=False, kernels=DEFAULT_KERNELS):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn_relu(3, 32, 2), _conv_bn_relu(32, 32),
                                  _conv_bn_relu(32, 64), nn.MaxPool2d(3, 2, 1))
        self.layer1 = _stage(64, 64, 3, 1, 1, 1)
        self.layer2 = _stage(256, 128, 4, 2, 1, 1)
        self.layer3 = _stage(512, 256, 6, *((1, 1, 2) if dilated else (2, 1, 1)))
        self.layer4 = _stage(1024, 512, 3, *((1, 2, 4) if dilated else (2, 1, 1)))
        if not dilated:
            self.stride = 32
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        if dynamic:
            self.make_dynamic(kernels, perturbation=None)

    def stages(self) -> list:
        return [self.stem, self.layer1, self.layer2, self.layer3, self.layer4]

    def make_dynamic(self, kernels=DEFAULT_KERNELS, perturbation=0.01) -> None:
        """Dynamic convs in stem, layer1, layer2 (see `make_dynamic`; None = fresh kernels)."""
        for stage in self.stages()[:3]:
            make_dynamic(stage, kernels, perturbation, keep=keeps_static)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages():
            x = stage(x)
        return x


# timm `resnest50d` (and the original ResNeSt release) key prefix → ours; fc.* is dropped.
_TIMM_RENAMES = (
    (r'^conv1\.0\.', 'stem.0.0.'), (r'^conv1\.1\.', 'stem.0.1.'),
    (r'^conv1\.3\.', 'stem.1.0.'), (r'^conv1\.4\.', 'stem.1.1.'),
    (r'^conv1\.6\.', 'stem.2.0.'), (r'^bn1\.', 'stem.2.1.'),
    (r'\.conv2\.conv\.', '.split_attention.conv.'), (r'\.conv2\.bn0\.', '.split_attention.bn.'),
    (r'\.conv2\.fc1\.', '.split_attention.fc1.'), (r'\.conv2\.bn1\.', '.split_attention.bn_fc1.'),
    (r'\.conv2\.fc2\.', '.split_attention.fc2.'), (r'\.downsample\.', '.shortcut.'),
)


def convert_timm_resnest50d(state_dict: dict) -> dict:
    """A timm `resnest50d` state dict in our `ResNeSt50` layout (static; either dilation).

    Raises ValueError naming missing, unexpected or mis-shaped keys.
    """
    converted = {}
    for key, value in state_dict.items():
        if key.startswith('fc.'):
            continue
        for pattern, replacement in _TIMM_RENAMES:
            key = re.sub(pattern, replacement, key)
        converted[key] = value
    expected = ResNeSt50(dilated=False).state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    shapes = sorted(k for k in set(expected) & set(converted)
                    if tuple(expected[k].shape) != tuple(converted[k].shape))
    if missing or unexpected or shapes:
        raise ValueError(f'not a resnest50d state dict: missing {missing[:4]}, unexpected '
                         f'{unexpected[:4]}, wrong shapes {shapes[:4]} '
                         f'({len(missing)}/{len(unexpected)}/{len(shapes)} in all)')
    return converted


def read_weights(path) -> dict:
    """A state dict from .pth/.pt (weights_only) or .safetensors; unwraps {'state_dict': …}."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'weights not found: {path}')
    if path.suffix == '.safetensors':
        try:
            from safetensors.torch import load_file
        except ImportError as err:
            raise ImportError(f'reading {path.name} needs safetensors: pip install '
                              'safetensors') from err
        return load_file(str(path))
    state = torch.load(path, map_location='cpu', weights_only=True)
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise ValueError(f'{path}: not a state dict')
    return state


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Convert timm resnest50d weights to the '
                                     'dyconv_fusion ResNeSt50 layout.')
    parser.add_argument('--convert', nargs=2, metavar=('IN', 'OUT'), required=True,
                        help='timm/ResNeSt checkpoint (.pth or .safetensors) → our .pt')
    source, target = parser.parse_args(argv).convert
    torch.save(convert_timm_resnest50d(read_weights(source)), target)
    print(f'wrote {target}')


if __name__ == '__main__':
    main()
