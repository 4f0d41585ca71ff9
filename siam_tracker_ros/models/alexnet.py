"""The SiamFC AlexNet (spec §2): no padding, total stride 8, shared by siamfc/dsiam/siam_gam."""
import torch
import torch.nn as nn

BN_EPS = 1e-6
BN_MOMENTUM = 0.05


def conv_bn_relu(in_ch, out_ch, kernel, stride=1, groups=1):
    """Conv (with bias) + BN + ReLU, the SiamFC AlexNet block."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, groups=groups),
        nn.BatchNorm2d(out_ch, eps=BN_EPS, momentum=BN_MOMENTUM),
        nn.ReLU(inplace=True))


class AlexNet(nn.Module):
    """conv1…conv5 of SiamFC: 127 → 256×6×6, 255 → 256×22×22, 239 → 256×20×20."""

    stride = 8
    out_channels = 256

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(conv_bn_relu(3, 96, 11, 2), nn.MaxPool2d(3, 2))
        self.conv2 = nn.Sequential(conv_bn_relu(96, 256, 5, groups=2), nn.MaxPool2d(3, 2))
        self.conv3 = conv_bn_relu(256, 384, 3)
        self.conv4 = conv_bn_relu(384, 384, 3, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, groups=2)

    def forward(self, x):
        return self.conv_outputs(x)[-1]

    def conv_outputs(self, x):
        """(conv3, conv4, conv5) outputs (384, 384, 256 channels) for multi-layer fusion, §4."""
        conv3 = self.conv3(self.conv2(self.conv1(x)))
        conv4 = self.conv4(conv3)
        return conv3, conv4, self.conv5(conv4)


def init_xavier(module: nn.Module) -> None:
    """Xavier-uniform conv weights made zero-mean per filter, zero biases, BN at identity.

    Spec §2 asks for Xavier-uniform. Each filter's mean is then subtracted so that untrained
    features respond to texture rather than to raw brightness (inputs are 0–255, not centred):
    an untrained SiamFC then still localises a textured target (docs/trackers/siamfc.md).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            with torch.no_grad():
                m.weight -= m.weight.mean(dim=(1, 2, 3), keepdim=True)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
