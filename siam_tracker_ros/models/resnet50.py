"""ResNet-50 conv1…layer3 at output stride 8 (spec §7 backbone B).

torchvision's v1.5 bottleneck (stride on the 3×3 conv) and key names, so a torchvision-layout
ImageNet state dict loads with `load_source` (layer4 and fc are dropped). layer3 keeps stride 1
with no dilation: 127 -> 1024×16×16, 287 -> 1024×36×36. 8,543,296 parameters.
"""
import torch
import torch.nn as nn

LAYERS = ((64, 3, 1), (128, 4, 2), (256, 6, 1))   # (width, blocks, stride) of layer1…layer3
EXPANSION = 4


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 ×4, BN after each, residual with a projection when needed."""

    def __init__(self, in_ch, width, stride=1):
        super().__init__()
        out_ch = width * EXPANSION
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet50Trunk(nn.Module):
    """conv1 7×7/2, max-pool 3×3/2, layer1…layer3; ImageNet-normalised RGB input (§1.2.4)."""

    stride = 8
    out_channels = 1024

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_ch = 64
        for index, (width, blocks, stride) in enumerate(LAYERS, 1):
            layer = [Bottleneck(in_ch, width, stride)]
            layer += [Bottleneck(width * EXPANSION, width) for _ in range(blocks - 1)]
            setattr(self, f'layer{index}', nn.Sequential(*layer))
            in_ch = width * EXPANSION
        for m in self.modules():   # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))

    def load_source(self, state: dict) -> None:
        """Load a torchvision-layout ResNet-50 state dict; layer4.* and fc.* are ignored."""
        kept = {k: v for k, v in state.items() if not k.startswith(('layer4.', 'fc.'))}
        own = {k for k in self.state_dict() if not k.endswith('num_batches_tracked')}
        missing = sorted(own - set(kept))
        unexpected = sorted(k for k in set(kept) - own if not k.endswith('num_batches_tracked'))
        if missing or unexpected:
            raise ValueError(f'not a ResNet-50 state dict: missing {missing[:4]}, '
                             f'unexpected {unexpected[:4]}')
        try:
            self.load_state_dict(kept, strict=False)
        except RuntimeError as err:
            raise ValueError(f'ResNet-50 state dict does not fit: {err}') from None
