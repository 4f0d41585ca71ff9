"""siamfc tracker behaviour: interface (C8), stub motion (C9), random-weight motion on a real frame."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from siam_tracker_ros import build_tracker


class AveragePoolStub(torch.nn.Module):
    """Parameter-free SFC-3 stub: 8×8 average pool, stride 8, on the mean-centred image."""

    stride = 8
    out_channels = 3

    def forward(self, x):
        return F.avg_pool2d(x - x.mean(dim=(1, 2, 3), keepdim=True), 8)


def centre_error(box, x, y, side):
    return np.hypot(box[0] + (box[2] - 1) / 2 - (x + (side - 1) / 2),
                    box[1] + (box[3] - 1) / 2 - (y + (side - 1) / 2))


def follow_patch(tracker, background, patch, start, steps):
    """Paste `patch` along a trajectory on `background`; return the per-frame centre errors."""
    side = patch.shape[0]
    limit = np.array([background.shape[1] - side, background.shape[0] - side])
    position, errors = np.array(start, float), []

    def render():
        x, y = (int(round(v)) for v in position)
        image = background.copy()
        image[y:y + side, x:x + side] = patch
        return image, x, y

    image, x, y = render()
    tracker.init(image, (x, y, side, side))
    for step in steps:
        position = np.clip(position + step, 10, limit - 10)
        image, x, y = render()
        errors.append(centre_error(tracker.track(image).box, x, y, side))
    return np.array(errors)


def test_stub_backbone_follows_noise_patch_on_grey():  # C9 / SFC-3
    rng = np.random.default_rng(0)
    tracker = build_tracker('siamfc')
    tracker.net.backbone = AveragePoolStub()
    patch = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    steps = rng.uniform(-4.2, 4.2, size=(10, 2))  # <= 6 px per frame
    errors = follow_patch(tracker, np.full((240, 320, 3), 128, np.uint8), patch, (120, 80),
                          steps)
    assert errors.max() <= 4.0


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_weights_follow_textured_patch_on_real_frame(sot_dir, seed):
    frame = cv2.imread(str(sot_dir / 'otb_DragonBaby' / 'img' / '0001.jpg'))
    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    rng = np.random.default_rng(seed)
    patch = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    steps = rng.uniform(-6, 6, size=(30, 2))
    errors = follow_patch(build_tracker('siamfc', seed=seed), frame, patch, (200, 120), steps)
    assert len(errors) == 30 and errors.max() <= 4.0


def test_precision_and_backends_agree_on_first_step(sot_dir):
    frames = [cv2.imread(str(sot_dir / 'otb_Crossing' / 'img' / f'{i:04d}.jpg'))
              for i in (1, 2)]
    boxes = {}
    for backend in ('eager', 'fused'):
        tracker = build_tracker('siamfc', backend=backend)
        tracker.init(frames[0], (204, 150, 17, 50))
        boxes[backend] = np.array(tracker.track(frames[1]).box)
    assert np.abs(boxes['eager'] - boxes['fused']).max() < 0.1


@pytest.mark.parametrize('hold_score', [0.0, 0.75])
def test_hold_score_keeps_place_while_the_target_is_hidden(sot_dir, hold_score):
    """A textured patch moves on a real frame and is hidden for five frames: with
    `hold_score` above the hidden frames' scores the box stays where the patch was last
    seen and picks it up again; without it the box jumps to the background."""
    frame = cv2.imread(str(sot_dir / 'otb_DragonBaby' / 'img' / '0001.jpg'))
    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    patch = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)

    def scene(x, visible=True):
        image = frame.copy()
        if visible:
            image[100:140, x:x + 40] = patch
        return image

    tracker = build_tracker('siamfc', weights='default', hold_score=hold_score)
    tracker.init(scene(200), (200, 100, 40, 40))
    results = [tracker.track(scene(200 + 3 * i, not 4 <= i < 9)) for i in range(12)]
    hidden = results[4:9]
    assert max(r.score for r in hidden) < 0.75 < min(r.score for r in results[:4])
    shifts = [np.hypot(r.box[0] - results[3].box[0], r.box[1] - results[3].box[1])
              for r in hidden]
    if hold_score:
        assert max(shifts) == 0 and tuple(hidden[-1].box) == tuple(results[3].box)
    else:
        assert max(shifts) > 20
    assert centre_error(results[-1].box, 233, 100, 40) <= 4.0
