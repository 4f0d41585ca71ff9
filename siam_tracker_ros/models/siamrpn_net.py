"""SiamRPN networks (spec §6): AlexNet-legacy + UP-channel RPN, and a MobileNetV2 variant.

Contract (both nets): `template(z)` -> (cls kernel, reg kernel), computed once per template;
`search(x)` -> backbone features; `head(kernel, features)` -> (cls B×2k×r×r, reg B×4k×r×r),
with channels cls·k + a and d·k + a (§1.5).

* `build_siamrpn_alexnet()`: the §6 net, 127/255 -> 17×17 (271 -> 19×19).
* `build_siamrpn_mobilenetv2(pretrained)`: the padded ImageNet MobileNetV2 trunk with a
  SiamRPN++ depthwise-correlation head; 127/255 -> 25×25 (8×8 template cells into 32×32 search
  cells; the centre cell 12 is the zero displacement, as §1.5's anchor grid expects).
"""
import torch
import torch.nn as nn

from siam_tracker_ros.models.backbones import template_crop, trunk_of
from siam_tracker_ros.models.pretrained_backbones import build_mobilenetv2
from siam_tracker_ros.ops.correlation import dwxcorr, xcorr

ANCHORS_PER_CELL = 5   # k: ratios [0.33, 0.5, 1, 2, 3] at scale 8 (§1.5)


class AlexNetLegacy(nn.Module):
    """DaSiamRPN / pysot `alexnetlegacy` (§6): no groups, BN after every conv, BN → pool → ReLU.

    127 -> 256×6×6, 255 -> 256×22×22, 271 -> 256×24×24. Raw 0–255 RGB input (§1.2.4).
    """

    stride = 8
    out_channels = 256

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, 2), nn.BatchNorm2d(96), nn.MaxPool2d(3, 2), nn.ReLU(inplace=True),
            nn.Conv2d(96, 256, 5), nn.BatchNorm2d(256), nn.MaxPool2d(3, 2), nn.ReLU(inplace=True),
            nn.Conv2d(256, 384, 3), nn.BatchNorm2d(384), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3), nn.BatchNorm2d(384), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3), nn.BatchNorm2d(256))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class UpChannelRPN(nn.Module):
    """The SiamRPN head (§6): template convs make 2k + 4k kernels of 256×4×4 each.

    cls = xcorr(search cls conv, cls kernels); reg = 1×1 conv (4k→4k) on xcorr(search reg
    conv, reg kernels). 6×6 template, 22×22 search -> 17×17.
    """

    def __init__(self, channels=256, anchors=ANCHORS_PER_CELL):
        super().__init__()
        self.channels = channels
        self.template_cls = nn.Conv2d(channels, 2 * anchors * channels, 3)
        self.template_reg = nn.Conv2d(channels, 4 * anchors * channels, 3)
        self.search_cls = nn.Conv2d(channels, channels, 3)
        self.search_reg = nn.Conv2d(channels, channels, 3)
        self.reg_adjust = nn.Conv2d(4 * anchors, 4 * anchors, 1)

    def kernels(self, z_features: torch.Tensor) -> tuple:
        """(cls, reg) kernels, B×2k×C×4×4 and B×4k×C×4×4 (conv channel m·C + c = kernel m)."""
        cls, reg = self.template_cls(z_features), self.template_reg(z_features)
        return (cls.reshape(cls.size(0), -1, self.channels, *cls.shape[2:]),
                reg.reshape(reg.size(0), -1, self.channels, *reg.shape[2:]))

    def forward(self, kernels: tuple, x_features: torch.Tensor) -> tuple:
        cls_kernel, reg_kernel = kernels
        cls = xcorr(cls_kernel, self.search_cls(x_features))
        reg = self.reg_adjust(xcorr(reg_kernel, self.search_reg(x_features)))
        return cls, reg


def conv_bn_relu(in_ch, out_ch, kernel):
    """Unpadded conv (no bias) + BN + ReLU, the SiamRPN++ block."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, bias=False), nn.BatchNorm2d(out_ch),
                         nn.ReLU(inplace=True))


class DepthwiseBranch(nn.Module):
    """One SiamRPN++ `DepthwiseXCorr` branch: 3×3 adjust convs, dwxcorr, 1×1 tower to `out`."""

    def __init__(self, channels, out_channels, hidden=256):
        super().__init__()
        self.template_adjust = conv_bn_relu(channels, hidden, 3)
        self.search_adjust = conv_bn_relu(channels, hidden, 3)
        self.tower = nn.Sequential(conv_bn_relu(hidden, hidden, 1),
                                   nn.Conv2d(hidden, out_channels, 1))

    def forward(self, kernel: torch.Tensor, x_features: torch.Tensor) -> torch.Tensor:
        return self.tower(dwxcorr(kernel, self.search_adjust(x_features)))


class DepthwiseRPN(nn.Module):
    """SiamRPN++ depthwise RPN: cls (2k) and reg (4k) branches. 8×8 into 32×32 -> 25×25."""

    def __init__(self, channels=256, anchors=ANCHORS_PER_CELL):
        super().__init__()
        self.cls = DepthwiseBranch(channels, 2 * anchors)
        self.reg = DepthwiseBranch(channels, 4 * anchors)

    def kernels(self, z_features: torch.Tensor) -> tuple:
        """(cls, reg) depthwise kernels, B×256×6×6 each for 8×8 template features."""
        return self.cls.template_adjust(z_features), self.reg.template_adjust(z_features)

    def forward(self, kernels: tuple, x_features: torch.Tensor) -> tuple:
        return self.cls(kernels[0], x_features), self.reg(kernels[1], x_features)


class SiamRPNNet(nn.Module):
    """Shared backbone + RPN head; `backbone.crop_template` is applied when present."""

    def __init__(self, backbone: nn.Module, rpn: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.rpn = rpn

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def trunk_modules(self) -> list:
        """The backbone's pretrained trunk modules (none for the AlexNet trained from scratch)."""
        return trunk_of(self.backbone)

    def template(self, z: torch.Tensor) -> tuple:
        """(cls kernel, reg kernel) of template crops z (B×3×127×127)."""
        return self.rpn.kernels(template_crop(self.backbone, self.backbone(z)))

    def search(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features of search crops."""
        return self.backbone(x)

    def head(self, kernel: tuple, features: torch.Tensor) -> tuple:
        """(cls, reg) logits and deltas; a batch-1 kernel is shared over the search batch."""
        return self.rpn(kernel, features)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple:
        return self.head(self.template(z), self.search(x))


def build_siamrpn_alexnet() -> SiamRPNNet:
    """§6 SiamRPN: AlexNet-legacy + UP-channel RPN (PyTorch default initialisation)."""
    return SiamRPNNet(AlexNetLegacy(), UpChannelRPN())


def build_siamrpn_mobilenetv2(pretrained: bool, weights_path=None) -> SiamRPNNet:
    """Padded MobileNetV2 trunk (ImageNet trunk from `weights_path` or the cache when
    `pretrained`) + depthwise RPN. Input: ImageNet-normalised RGB (`weights.IMAGENET_INPUT`)."""
    return SiamRPNNet(build_mobilenetv2(weights_path, pretrained), DepthwiseRPN())
