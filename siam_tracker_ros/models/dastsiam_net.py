"""DASTSiam network (spec §7): backbone B, neck N, ST template fusion, DA search augmentation,
and the depthwise-correlation head with cls1 (CE), cls2 (centre-ness BCE) and reg maps.

Contract:
* `embed(z)` -> f_i = N(B(z)), 256×16×16 for a 127 template crop;
* `fuse_templates(f_i, f_a, f_c)` -> f_z* = Φ_MF(ST(f_c; f_a)) + f_i (Eq. 1–2), the kernel;
* `template(z)` -> the kernel of a single template, `fuse_templates(f_i, f_i, f_i)` (§7
  Inference 1); the tracker keeps `embed(z)` for updates;
* `search(x)` -> f_s = N(B(x)), 256×36×36 for a 287 search crop;
* `head(f_z*, f_s)` -> (cls1 B×2×25×25, cls2 B×1×25×25, reg B×4×25×25), after
  f_s* = Φ_DA(DA(f_s; f_z*)) + f_s (Eq. 5).

`use_st=False` makes f_z* = f_i, `use_da=False` makes f_s* = f_s (§7 ablations); the unused
modules are then not built (`None`).
"""
import copy

import torch
import torch.nn as nn

from siam_tracker_ros.models.dast_transformer import (AugmentationDecoder, FusionEncoder,
                                                      from_tokens, to_tokens)
from siam_tracker_ros.models.pretrained_backbones import (build_mobilenetv2, crop_center,
                                                          read_state_dict)
from siam_tracker_ros.models.resnet50 import ResNet50Trunk
from siam_tracker_ros.ops.correlation import dwxcorr

CHANNELS = 256
TEMPLATE_CELLS = 8   # f_z*[:, 4:12, 4:12]
TRUNKS = ('resnet50', 'mobilenetv2')


def conv_bn(in_ch, out_ch, kernel, padding=0, relu=True, bias=True):
    """Conv + BN (+ ReLU)."""
    layers = [nn.Conv2d(in_ch, out_ch, kernel, padding=padding, bias=bias),
              nn.BatchNorm2d(out_ch)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


def residual_filter(channels=CHANNELS) -> nn.Sequential:
    """Φ_MF / Φ_DA: two × (3×3 p1 conv without bias + BN + ReLU). 1,180,672 parameters."""
    return nn.Sequential(conv_bn(channels, channels, 3, 1, bias=False),
                         conv_bn(channels, channels, 3, 1, bias=False))


class DASTHead(nn.Module):
    """Adjust convs, dwxcorr (8×8 into 36×36 -> 29×29), towers, cls1 / cls2 / reg (-> 25×25)."""

    def __init__(self, channels=CHANNELS):
        super().__init__()
        c = channels
        self.z_cls, self.z_reg = conv_bn(c, c, 3, 1, relu=False), conv_bn(c, c, 3, 1, relu=False)
        self.x_cls, self.x_reg = conv_bn(c, c, 3, 1, relu=False), conv_bn(c, c, 3, 1, relu=False)
        self.cls_fuse, self.reg_fuse = conv_bn(c, c, 1), conv_bn(c, c, 1)
        self.cls_tower = nn.Sequential(conv_bn(c, c, 3, 1), conv_bn(c, 64, 3, 1))
        self.cls1 = nn.Sequential(conv_bn(64, 64, 3), nn.Conv2d(64, 2, 3))
        self.cls2 = nn.Sequential(conv_bn(64, 64, 3), nn.Conv2d(64, 1, 3))
        self.reg = nn.Sequential(conv_bn(c, c, 3, 1), conv_bn(c, 64, 3, 1), conv_bn(64, 64, 3),
                                 nn.Conv2d(64, 4, 3))

    def correlate(self, z: torch.Tensor, x: torch.Tensor) -> tuple:
        """The two fused correlation maps (cls, reg), B×256×29×29 for 8×8 into 36×36."""
        cls = self.cls_fuse(dwxcorr(self.z_cls(z), self.x_cls(x)))
        return cls, self.reg_fuse(dwxcorr(self.z_reg(z), self.x_reg(x)))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple:
        cls, reg = self.correlate(z, x)
        tower = self.cls_tower(cls)
        return self.cls1(tower), self.cls2(tower), self.reg(reg)


class DASTSiamNet(nn.Module):
    """B (shared, or a template copy in `template_backbone`), N, ST, Φ_MF, DA, Φ_DA, head."""

    def __init__(self, backbone: nn.Module, share_backbone=True, use_st=True, use_da=True):
        super().__init__()
        self.backbone = backbone
        self.template_backbone = None if share_backbone else copy.deepcopy(backbone)
        self.neck = conv_bn(backbone.out_channels, CHANNELS, 1)
        self.encoder = FusionEncoder() if use_st else None
        self.mf_filter = residual_filter() if use_st else None
        self.decoder = AugmentationDecoder() if use_da else None
        self.da_filter = residual_filter() if use_da else None
        self.rpn = DASTHead()

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def trunk_modules(self) -> list:
        """The pretrained trunk B (both copies when unshared), for `freeze_trunk` training."""
        trunks = [t for t in (self.backbone, self.template_backbone) if t is not None]
        return [m for t in trunks
                for m in (t.trunk_modules() if hasattr(t, 'trunk_modules') else [t])]

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """f = N(B(z)) of template crops (through the template copy when unshared)."""
        trunk = self.backbone if self.template_backbone is None else self.template_backbone
        return self.neck(trunk(z))

    def fuse_templates(self, f_i, f_a, f_c) -> torch.Tensor:
        """f_z* = Φ_MF(ST(f_c; f_a)) + f_i (Eq. 1–2), or f_i when `use_st` is off."""
        if self.encoder is None:
            return f_i
        fused = self.encoder(to_tokens(f_c), to_tokens(f_a))
        return self.mf_filter(from_tokens(fused, f_c)) + f_i

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """The kernel f_z* of one template: ST with f_a = f_c = f_i."""
        f_i = self.embed(z)
        return self.fuse_templates(f_i, f_i, f_i)

    def search(self, x: torch.Tensor) -> torch.Tensor:
        """f_s = N(B(x)) of search crops."""
        return self.neck(self.backbone(x))

    def augment_search(self, kernel: torch.Tensor, f_s: torch.Tensor) -> torch.Tensor:
        """f_s* = Φ_DA(DA(f_s; f_z*)) + f_s (Eq. 5), or f_s when `use_da` is off."""
        if self.decoder is None:
            return f_s
        decoded = self.decoder(to_tokens(f_s), to_tokens(kernel))
        return self.da_filter(from_tokens(decoded, f_s)) + f_s

    def head(self, kernel: torch.Tensor, features: torch.Tensor) -> tuple:
        """(cls1, cls2, reg) from f_z* and f_s; a batch-1 kernel is shared over the batch."""
        if kernel.size(0) == 1 and features.size(0) > 1:
            kernel = kernel.expand(features.size(0), -1, -1, -1)
        augmented = self.augment_search(kernel, features)
        return self.rpn(crop_center(kernel, TEMPLATE_CELLS), augmented)

    def forward(self, z, x, z_a=None, z_c=None) -> tuple:
        """Maps for search crops x. Training passes T_a and T_c too (§7 Training); without
        them this is `head(template(z), search(x))`."""
        f_i = self.embed(z)
        f_a = f_i if z_a is None else self.embed(z_a)
        f_c = f_i if z_c is None else self.embed(z_c)
        return self.head(self.fuse_templates(f_i, f_a, f_c), self.search(x))


def build_trunk(trunk: str, pretrained: bool, weights_path=None) -> nn.Module:
    """ResNet-50 (weights only from a torchvision-layout file) or the padded MobileNetV2."""
    if trunk == 'mobilenetv2':
        return build_mobilenetv2(weights_path, pretrained)
    if trunk != 'resnet50':
        raise ValueError(f'unknown dastsiam trunk {trunk!r}; known: {", ".join(TRUNKS)}')
    net = ResNet50Trunk()
    if pretrained:
        if weights_path is None:
            raise ValueError('pretrained resnet50 needs weights_path (no ImageNet ResNet-50 '
                             'ships in a package registry)')
        net.load_source(read_state_dict(weights_path))
    return net


def build_dastsiam(trunk='resnet50', share_backbone=True, use_st=True, use_da=True,
                   pretrained=False, weights_path=None) -> DASTSiamNet:
    """§7 network; input ImageNet-normalised RGB 127 / 287 crops (`weights.IMAGENET_INPUT`)."""
    return DASTSiamNet(build_trunk(trunk, pretrained, weights_path), share_backbone, use_st,
                       use_da)
