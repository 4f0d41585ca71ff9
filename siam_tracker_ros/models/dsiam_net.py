"""DSiam / DSiamM network (spec §3): backbone taps, RLR transforms, elementwise fusion.

Per layer l: Xˡ = xcorr(blend(V, F₁ˡ; α_v), blend(W, F_Zˡ; α_w)), then
S = 0.001·(Υ⊙X⁵ + (1−Υ)⊙X⁴) + b (one layer: S = 0.001·X + b). V and W are per-layer RLR
spectra (ops/rlr.py) or None (off). Learnable: backbone, Υ, log λ_v and log λ_w per layer, b.

Taps: the SiamFC AlexNet gives conv4 and conv5 (the paper); a padded pretrained trunk
(MobileNetV2, ...) gives one layer, `neck`: SiamFC's features of that trunk, the template
centre-cropped as SiamFCNet does.
"""
import math

import torch
import torch.nn as nn

from siam_tracker_ros.models.alexnet import AlexNet
from siam_tracker_ros.models.backbones import template_crop, trunk_of
from siam_tracker_ros.ops.correlation import xcorr
from siam_tracker_ros.ops.rlr import apply_transform, blend, feature_window, rlr

ADJUST_GAIN = 0.001
LAYERS = ('conv4', 'conv5')      # the AlexNet taps
TRUNK_LAYERS = ('neck',)         # the one tap of a padded pretrained trunk


def check_layers(layers) -> tuple:
    """('conv4', 'conv5'), ('conv5',), ('conv4',) or ('neck',); anything else is a ValueError."""
    if isinstance(layers, str):
        raise ValueError(f'dsiam layers must be a tuple of names such as ("conv5",), '
                         f'not the string {layers!r}')
    layers = tuple(layers)
    if layers == TRUNK_LAYERS:
        return layers
    if not layers or len(set(layers)) != len(layers) or not set(layers) <= set(LAYERS):
        raise ValueError(f'dsiam layers must be ("conv4", "conv5"), ("conv5",) or ("conv4",) '
                         f'(AlexNet), or ("neck",) (a pretrained trunk); got {layers!r}')
    return tuple(name for name in LAYERS if name in layers)


def layers_backbone(layers: tuple) -> str:
    """The backbone kind the checked `layers` need: 'alexnet' or 'trunk'."""
    return 'trunk' if layers == TRUNK_LAYERS else 'alexnet'


class DSiamNet(nn.Module):
    """template(z) and search(x) give per-layer features; head(kernel, features, V, W) → S."""

    def __init__(self, backbone: nn.Module, layers=LAYERS, alpha_v: float = 0.49,
                 alpha_w: float = 0.29, lambda_v: float = 1e-5, lambda_w: float = 10.0,
                 response_size: int = 17, windowed: bool = True):
        super().__init__()
        if not (lambda_v > 0 and lambda_w > 0):
            raise ValueError(f'dsiam lambda_v and lambda_w must be > 0 (learned as log λ); '
                             f'got {lambda_v} and {lambda_w}')
        self.backbone = backbone
        self.layers = check_layers(layers)
        if isinstance(backbone, AlexNet) != (layers_backbone(self.layers) == 'alexnet'):
            raise ValueError(f'dsiam layers {self.layers} do not fit a '
                             f'{type(backbone).__name__}: conv4 / conv5 are the SiamFC AlexNet '
                             f'taps, a pretrained trunk has the one layer ("neck",) (set '
                             f'layers: [conv4, conv5] for AlexNet weights, [neck] for a '
                             f'pretrained trunk)')
        self.alpha_v, self.alpha_w, self.windowed = alpha_v, alpha_w, windowed
        count = len(self.layers)
        self.log_lambda_v = nn.Parameter(torch.full((count,), math.log(lambda_v)))
        self.log_lambda_w = nn.Parameter(torch.full((count,), math.log(lambda_w)))
        # Υ weighs conv5 and 1 − Υ conv4; initialised to ones (spec §3, P).
        self.fusion = nn.Parameter(torch.ones(response_size, response_size)) if count == 2 else None
        self.adjust_bias = nn.Parameter(torch.zeros(1))

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def taps(self, image: torch.Tensor) -> tuple:
        """conv4 (after ReLU) and/or conv5 features of the shared AlexNet, in layer order, or
        the trunk's features (`neck`)."""
        net = self.backbone
        if self.layers == TRUNK_LAYERS:
            return (net(image),)
        conv4 = net.conv4(net.conv3(net.conv2(net.conv1(image))))
        if self.layers == ('conv4',):
            return (conv4,)
        conv5 = net.conv5(conv4)
        return (conv4, conv5) if len(self.layers) == 2 else (conv5,)

    def template(self, z: torch.Tensor) -> tuple:
        """Per-layer template features F₁ˡ (8×8 and/or 6×6 for a 127 crop; a trunk's centre
        `template_cells`²)."""
        return tuple(template_crop(self.backbone, f) for f in self.taps(z))

    def trunk_modules(self) -> list:
        """The pretrained trunk's modules (frozen by `freeze_trunk` training); none for AlexNet."""
        return trunk_of(self.backbone)

    def search(self, x: torch.Tensor) -> tuple:
        """Per-layer search features (24×24 and/or 22×22 for a 255 crop)."""
        return self.taps(x)

    def responses(self, kernel, features, v=None, w=None) -> tuple:
        """Per-layer raw correlations Xˡ (B×1×r×r) with V and W applied where given."""
        if not len(kernel) == len(features) == len(self.layers):
            raise ValueError(f'{len(self.layers)} layer(s) {self.layers} but {len(kernel)} '
                             f'template and {len(features)} search feature tensor(s)')
        v = v if v is not None else (None,) * len(kernel)
        w = w if w is not None else (None,) * len(features)
        return tuple(xcorr(self.transformed(z, tv, self.alpha_v),
                           self.transformed(x, tw, self.alpha_w))
                     for z, x, tv, tw in zip(kernel, features, v, w))

    def head(self, kernel, features, v=None, w=None) -> torch.Tensor:
        """The fused response S (B×1×17×17 for a 255 search crop); V, W None = off."""
        maps = self.responses(kernel, features, v, w)
        if self.fusion is None:
            return ADJUST_GAIN * maps[0] + self.adjust_bias
        conv4, conv5 = maps
        if conv5.shape[-2:] != self.fusion.shape:
            raise ValueError(f'response {tuple(conv5.shape[-2:])} does not match the fusion '
                             f'map {tuple(self.fusion.shape)}')
        fused = self.fusion * conv5 + (1 - self.fusion) * conv4
        return ADJUST_GAIN * fused + self.adjust_bias

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.template(z), self.search(x))

    def learn_v(self, first_template, target_template) -> tuple:
        """V_tˡ = RLR(F₁ˡ, fˡ(O_t), λ_vˡ): target appearance variation (Eq. 6)."""
        return self._learn(first_template, target_template, self.log_lambda_v)

    def learn_w(self, search_features, masked_features) -> tuple:
        """W_tˡ = RLR(fˡ(G_t), fˡ(Ḡ_t), λ_wˡ): background suppression (Eq. 8)."""
        return self._learn(search_features, masked_features, self.log_lambda_w)

    def transformed(self, features: torch.Tensor, t_hat, alpha: float) -> torch.Tensor:
        """blend(F, apply(T̂, F), α), or F itself when the transform is off (None).

        The FFTs run in at least fp32 (bf16/fp16 features are cast up, and the result back).
        """
        if t_hat is None:
            return features
        exact = at_least_fp32(features)
        mixed = blend(exact, apply_transform(t_hat, exact, self._window(exact)), alpha)
        return mixed.to(features.dtype)

    def _learn(self, sources, targets, log_lambda) -> tuple:
        spectra = []
        for i, (x, y) in enumerate(zip(sources, targets)):
            x, y = at_least_fp32(x), at_least_fp32(y)
            lam = log_lambda[i].to(x.dtype).exp()
            spectra.append(rlr(x, y, lam, self._window(x)))
        return tuple(spectra)

    def _window(self, features: torch.Tensor):
        return feature_window(features) if self.windowed else None


def at_least_fp32(features: torch.Tensor) -> torch.Tensor:
    """`features` in fp32 when they are bf16/fp16 (torch.fft needs fp32 on the CPU, and
    power-of-two sizes at fp16 on CUDA); fp32 and fp64 unchanged."""
    if features.dtype in (torch.float16, torch.bfloat16):
        return features.float()
    return features
