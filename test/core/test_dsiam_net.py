"""Spec §3 checks DS-4, DS-5 and DS-6, and the parameter count of the DSiam network."""
import math

import numpy as np
import pytest
import torch

from siam_tracker_ros.models.alexnet import AlexNet, init_xavier
from siam_tracker_ros.models.dsiam_net import DSiamNet
from siam_tracker_ros.ops.windows import dsiam_search_mask
from siam_tracker_ros.trackers.dsiam_update import ScaleState, update_patches, update_state
from siam_tracker_ros.training.dsiam_bptt import clip_loss, crop_point, image_point, peak_point


def dsiam_net(layers=('conv4', 'conv5'), seed=0, **options) -> DSiamNet:
    torch.manual_seed(seed)
    backbone = AlexNet()
    init_xavier(backbone)
    return DSiamNet(backbone, layers, **options).eval()


def textured_scene(centers, side=160, patch=40, seed=0):
    """Frames of a noise patch moving over a grey background, with 0-based xywh boxes."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (patch, patch, 3), dtype=np.uint8)
    frames, boxes = [], []
    for cx, cy in centers:
        frame = np.full((side, side, 3), 120, np.uint8)
        x, y = int(cx - (patch - 1) / 2), int(cy - (patch - 1) / 2)
        frame[y:y + patch, x:x + patch] = texture
        frames.append(frame)
        boxes.append((float(x), float(y), float(patch), float(patch)))
    return frames, boxes


def test_parameter_count():  # spec §3: 2,336,320 + 289 (Υ) + 4 (log λ) + 1 (bias)
    assert sum(p.numel() for p in DSiamNet(AlexNet()).parameters()) == 2_336_320 + 289 + 4 + 1
    single = DSiamNet(AlexNet(), layers=('conv5',))
    assert sum(p.numel() for p in single.parameters()) == 2_336_320 + 2 + 1


def test_lambda_starts_at_official_defaults_and_alpha_is_fixed():
    net = DSiamNet(AlexNet())
    assert torch.allclose(net.log_lambda_v.exp(), torch.tensor([1e-5, 1e-5]))
    assert torch.allclose(net.log_lambda_w.exp(), torch.tensor([10.0, 10.0]))
    assert torch.equal(net.fusion, torch.ones(17, 17))
    assert (net.alpha_v, net.alpha_w) == (0.49, 0.29)
    assert not any(name.startswith('alpha') for name, _ in net.named_parameters())


def test_feature_and_response_shapes():  # DS-4
    net = dsiam_net()
    with torch.no_grad():
        kernel = net.template(torch.rand(1, 3, 127, 127) * 255)
        features = net.search(torch.rand(3, 3, 255, 255) * 255)
        maps = net.responses(kernel, features)
        fused = net.head(kernel, features)
    assert [tuple(k.shape) for k in kernel] == [(1, 384, 8, 8), (1, 256, 6, 6)]
    assert [tuple(f.shape) for f in features] == [(3, 384, 24, 24), (3, 256, 22, 22)]
    assert [tuple(m.shape) for m in maps] == [(3, 1, 17, 17)] * 2
    assert fused.shape == (3, 1, 17, 17)


@pytest.mark.parametrize('fusion,alone', [(1.0, 'conv5'), (0.0, 'conv4')])
def test_fusion_extremes_equal_single_layer_responses(fusion, alone):  # DS-4
    net = dsiam_net()
    single = DSiamNet(net.backbone, layers=(alone,)).eval()
    with torch.no_grad():
        net.fusion.fill_(fusion)
        net.adjust_bias.fill_(0.3)
        single.adjust_bias.fill_(0.3)
        z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255
        assert torch.allclose(net(z, x), single(z, x), rtol=1e-6, atol=1e-6)
        other = DSiamNet(net.backbone, layers=({'conv4', 'conv5'} - {alone})).eval()
        assert not torch.allclose(net(z, x), other(z, x), rtol=1e-3, atol=1e-3)


def test_identity_transforms_leave_the_response_unchanged():
    """V = RLR(F₁, F₁, λ→0) and W = RLR(F, F, λ→0) without the window are the identity."""
    net = dsiam_net(windowed=False, lambda_v=1e-12, lambda_w=1e-12).double()
    with torch.no_grad():
        kernel = net.template(torch.rand(1, 3, 127, 127, dtype=torch.float64) * 255)
        search = torch.rand(1, 3, 255, 255, dtype=torch.float64) * 255
        features = net.search(search)
        v, w = net.learn_v(kernel, kernel), net.learn_w(features, features)
        scales = net.search(torch.cat([search, search.flip(-1)]))
        plain, transformed = net.head(kernel, scales), net.head(kernel, scales, v, w)
    assert transformed.shape == (2, 1, 17, 17)  # one W broadcast over two scales
    assert torch.allclose(transformed, plain, rtol=0, atol=1e-6 * plain.abs().max())


def test_learned_transforms_change_the_response():
    net = dsiam_net()
    with torch.no_grad():
        kernel = net.template(torch.rand(1, 3, 127, 127) * 255)
        target = net.template(torch.rand(1, 3, 127, 127) * 255)
        features = net.search(torch.rand(1, 3, 255, 255) * 255)
        v = net.learn_v(kernel, target)
        w = net.learn_w(features, net.search(torch.rand(1, 3, 255, 255) * 255))
        plain = net.head(kernel, features)
        assert [tuple(t.shape) for t in v] == [(1, 384, 8, 5), (1, 256, 6, 4)]
        assert not torch.allclose(net.head(kernel, features, v=v), plain, atol=1e-4)
        assert not torch.allclose(net.head(kernel, features, w=w), plain, atol=1e-4)


def test_bad_layers_and_sizes_are_errors():
    with pytest.raises(ValueError, match='layers'):
        DSiamNet(AlexNet(), layers=('conv3',))
    with pytest.raises(ValueError, match='layers'):
        DSiamNet(AlexNet(), layers=())
    with pytest.raises(ValueError, match='not the string'):
        DSiamNet(AlexNet(), layers='conv5')
    with pytest.raises(ValueError, match='lambda'):
        DSiamNet(AlexNet(), lambda_v=0.0)
    net = dsiam_net()
    with torch.no_grad(), pytest.raises(ValueError, match='fusion map'):
        net(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 239, 239))  # 15×15 ≠ Υ 17×17


STATE = ScaleState(size=(40.0, 20.0), s_z=60.0, s_x=60.0 * 255 / 127, s_x0=60.0 * 255 / 127)


def test_failure_grows_s_x_and_turns_transforms_off():  # DS-5
    failed = update_state(STATE, peak=-0.2, scale_gain=1.05)
    assert failed.s_x == pytest.approx(1.1 * STATE.s_x)
    assert (failed.size, failed.s_z) == (STATE.size, STATE.s_z)
    assert failed.failed and not failed.transforms_on
    assert update_state(STATE, peak=math.nan, scale_gain=1.0).failed
    assert update_state(STATE, peak=0.0, scale_gain=1.0).failed


def test_repeated_failures_clamp_s_x_at_five_times_s_x0():  # DS-5
    state = STATE
    for _ in range(30):
        state = update_state(state, peak=-1.0, scale_gain=1.0)
    assert state.s_x == pytest.approx(5 * STATE.s_x0)


def test_success_after_failure_resets_s_x_from_the_size():  # DS-5
    state = update_state(update_state(STATE, -1.0, 1.0), -1.0, 1.0)
    recovered = update_state(state, peak=0.4, scale_gain=1.05)
    assert recovered.s_x == pytest.approx(STATE.s_z * 255 / 127)
    assert recovered.size == STATE.size and not recovered.failed and recovered.transforms_on


def test_normal_success_damps_the_scale():  # DS-5
    g = (1 - 0.59) + 0.59 * 1.0375
    grown = update_state(STATE, peak=2.0, scale_gain=g)
    assert grown.s_x == pytest.approx(STATE.s_x * g) and grown.s_z == pytest.approx(60.0 * g)
    assert np.allclose(grown.size, np.array(STATE.size) * g) and grown.transforms_on
    shrunk = update_state(STATE, peak=2.0, scale_gain=0.1)
    assert shrunk.s_x == pytest.approx(0.2 * STATE.s_x0)
    assert np.allclose(shrunk.size, np.array(STATE.size) * 0.2)


def test_update_patches_mask_the_search_crop():
    frames, _ = textured_scene([(80.0, 70.0)])
    mask = dsiam_search_mask(255)
    target, search, masked = update_patches(frames[0], (80.0, 70.0), 60.0, 120.0, (1, 2, 3),
                                            mask)
    assert target.shape == (127, 127, 3) and search.shape == masked.shape == (255, 255, 3)
    assert np.allclose(masked, search * mask[:, :, None], atol=1e-3)
    assert np.all(masked[:, 0] == 0) and masked[127, 127, 0] == search[127, 127, 0]
    with pytest.raises(ValueError, match='mask'):
        update_patches(frames[0], (80.0, 70.0), 60.0, 120.0, (1, 2, 3), mask[:-1, :-1])


def test_crop_coordinates_round_trip_and_centre_cell():
    center, side = (80.3, 69.6), 123.4
    point = (97.25, 55.5)
    back = image_point(crop_point(point, center, side, 255), center, side, 255)
    assert np.allclose(back, point, atol=1e-9)
    response = torch.zeros(1, 1, 17, 17)
    response[0, 0, 8, 8] = 1.0
    assert peak_point(response, 255, 8) == (127.0, 127.0)
    response[0, 0, 3, 12] = 2.0
    assert peak_point(response, 255, 8) == (127.0 + 32, 127.0 - 40)


@pytest.mark.parametrize('fusion', [1.0, 0.5])
def test_bptt_clip_gives_finite_gradients_to_lambda_and_fusion(fusion):  # DS-6
    """At the paper's init (Υ = 1) conv4 has weight 0, so only conv5's λ can move at first."""
    torch.set_num_threads(1)
    net = dsiam_net()
    with torch.no_grad():
        net.fusion.fill_(fusion)
    frames, boxes = textured_scene([(80.0, 80.0), (84.0, 78.0), (88.0, 75.0)])
    loss = clip_loss(net, frames, boxes)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    conv5 = 1  # layer order (conv4, conv5)
    for grad in (net.log_lambda_v.grad, net.log_lambda_w.grad):
        assert torch.isfinite(grad).all() and grad[conv5] != 0
        assert (grad[0] != 0) == (fusion < 1)
    assert torch.isfinite(net.fusion.grad).all() and net.fusion.grad.abs().sum() > 0
    conv1 = net.backbone.conv1[0][0].weight.grad
    assert torch.isfinite(conv1).all() and conv1.abs().sum() > 0


@pytest.mark.parametrize('learn_v, learn_w', [(False, True), (True, False), (False, False)])
def test_bptt_ablation_switches_leave_their_transform_off(learn_v, learn_w):
    """update_v / update_w off in training: that λ gets no gradient (the transform never
    runs); the other still does."""
    torch.set_num_threads(1)
    net = dsiam_net()
    frames, boxes = textured_scene([(80.0, 80.0), (84.0, 78.0), (88.0, 75.0)])
    clip_loss(net, frames, boxes, learn_v=learn_v, learn_w=learn_w).backward()
    for learn, grad in ((learn_v, net.log_lambda_v.grad), (learn_w, net.log_lambda_w.grad)):
        assert (grad is not None and bool(grad[1] != 0)) == learn


def test_clip_needs_two_frames_and_a_box_each():
    frames, boxes = textured_scene([(80.0, 80.0), (84.0, 78.0)])
    with pytest.raises(ValueError, match='clip'):
        clip_loss(dsiam_net(), frames[:1], boxes[:1])
    with pytest.raises(ValueError, match='clip'):
        clip_loss(dsiam_net(), frames, boxes[:1])


def test_sgd_steps_on_one_clip_lower_its_loss():  # DS-6: the gradients point downhill
    torch.set_num_threads(1)
    net = dsiam_net()
    with torch.no_grad():
        net.fusion.fill_(0.5)
    frames, boxes = textured_scene([(80.0, 80.0), (84.0, 78.0), (88.0, 75.0)])
    optimiser = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    losses = []
    for _ in range(3):
        optimiser.zero_grad()
        loss = clip_loss(net, frames, boxes)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[2] < losses[1] < losses[0]
