"""Test-only reference: timm's `resnest50d` layout (key names, shapes, forward), undilated.

Written from timm 1.0 `models/resnest.py`, `models/resnet.py` and `layers/split_attn.py`
(timm itself imports torchvision, which does not import beside this torch). No code is shared
with siam_tracker_ros.models.resnest, so a renaming or wiring mistake there shows up as an
output mismatch.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class SplitAttn(nn.Module):
    """timm SplitAttn, radix 2, groups 1: conv, bn0, act0, fc1, bn1, act1, fc2, rsoftmax."""

    def __init__(self, channels, stride=1, radix=2):
        super().__init__()
        self.radix = radix
        attn_chs = max(channels * radix // 4, 32)   # make_divisible(…, min_value=32, 8)
        self.conv = nn.Conv2d(channels, channels * radix, 3, stride, 1, groups=radix, bias=False)
        self.bn0 = nn.BatchNorm2d(channels * radix)
        self.fc1 = nn.Conv2d(channels, attn_chs, 1)
        self.bn1 = nn.BatchNorm2d(attn_chs)
        self.fc2 = nn.Conv2d(attn_chs, channels * radix, 1)

    def forward(self, x):
        x = F.relu(self.bn0(self.conv(x)))
        b, rc, h, w = x.shape
        x = x.reshape(b, self.radix, rc // self.radix, h, w)
        gap = x.sum(dim=1).mean((2, 3), keepdim=True)
        attn = self.fc2(F.relu(self.bn1(self.fc1(gap))))
        attn = attn.view(b, 1, self.radix, -1).transpose(1, 2)        # RadixSoftmax
        attn = F.softmax(attn, dim=1).reshape(b, -1)
        return (x * attn.reshape(b, self.radix, rc // self.radix, 1, 1)).sum(dim=1)


class ResNestBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = SplitAttn(planes)
        self.avd_last = nn.AvgPool2d(3, stride, padding=1) if stride > 1 else None
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv2(F.relu(self.bn1(self.conv1(x))))
        if self.avd_last is not None:
            out = self.avd_last(out)
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + shortcut)


def _layer(inplanes, planes, blocks, stride):
    pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1
            else nn.Identity())
    downsample = nn.Sequential(pool, nn.Conv2d(inplanes, planes * 4, 1, bias=False),
                               nn.BatchNorm2d(planes * 4))
    layers = [ResNestBottleneck(inplanes, planes, stride, downsample)]
    layers += [ResNestBottleneck(planes * 4, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class TimmResNest50d(nn.Module):
    """resnest50d: deep stem (conv1.0 … conv1.6, bn1), layer1–4, fc (1000 classes)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _layer(64, 64, 3, 1)
        self.layer2 = _layer(256, 128, 4, 2)
        self.layer3 = _layer(512, 256, 6, 2)
        self.layer4 = _layer(1024, 512, 3, 2)
        self.fc = nn.Linear(2048, 1000)

    def forward_features(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x):
        return self.fc(self.forward_features(x).mean((2, 3)))


def random_reference(seed=0) -> TimmResNest50d:
    """A reference net in eval mode with random weights and random BN statistics."""
    gen = torch.Generator().manual_seed(seed)
    net = TimmResNest50d()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    return net.eval()
