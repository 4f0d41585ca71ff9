"""Issue 10 training data: camera motion, same-kind look-alikes, small targets, target boxes.

On the real media of scripts/fetch_training_data.sh (tuxpaint photo cut-outs with their stamp
folders, wallpaper and OpenCV photos), never on generated noise. Spec §1.6: pairs, sample filter.
"""
import dataclasses

import cv2
import numpy as np
import pytest

from siam_tracker_ros.data.augment import AugmentConfig, crop_pair
from siam_tracker_ros.data.media import SkipCounter, load_cutouts, load_images, stamp_category
from siam_tracker_ros.data.layers import Layer, paste
from siam_tracker_ros.data.sources import SyntheticPairSource, box_ok
from siam_tracker_ros.data.stills import StillConfig, StillPairSource, paste_patch
from siam_tracker_ros.data.synthetic import SceneConfig, SyntheticScene
from siam_tracker_ros.models.pretrained_backbones import default_cache_dir
from siam_tracker_ros.training.config import TrainConfigError, load_train_config

MEDIA = default_cache_dir() / 'media'
RECIPE_AUG = AugmentConfig(search_shift=48, search_scale=0.15, blur_prob=0.1)
STILL = AugmentConfig(color_pca=0)        # Augmentation A's ±4 px, no colour change
QUIET = dict(distractors=(0, 0), occluder=0.0)   # nothing but target (and look-alikes)


@pytest.fixture(scope='module')
def media():
    assert (MEDIA / 'stamps' / 'categories.tsv').is_file(), \
        f'training media missing: {MEDIA} (run scripts/fetch_training_data.sh)'
    skipped = SkipCounter()
    return load_cutouts(MEDIA / 'stamps', skipped), load_images(MEDIA / 'backgrounds', skipped)


def draws(source, seed: int, count: int) -> list:
    rng = np.random.default_rng(seed)
    samples = []
    while len(samples) < count:
        sample = source.draw(rng)
        if sample is not None:
            samples.append(sample)
    return samples


def test_cutouts_carry_their_stamp_category(media):
    cutouts, _ = media
    assert stamp_category('animals/mammals/bovines') == 'animals/mammals'
    assert stamp_category('food/fruit/cartoon') == 'food/fruit'
    assert stamp_category('household') == 'household'
    kinds = [c.category for c in cutouts]
    assert len(cutouts) > 200 and all(kinds)
    assert kinds.count('animals/birds') >= 20 and kinds.count('animals/mammals') >= 20


@pytest.mark.parametrize('kind', ['synthetic', 'still'])
def test_hard_negative_pairs_shapes_dtypes_and_records(media, kind):
    cutouts, backgrounds = media
    source = SyntheticPairSource(cutouts, backgrounds, RECIPE_AUG, scene=SceneConfig(
        small_target=0.3, lookalikes=(1, 3), camera=True), min_side=12) if kind == 'synthetic' \
        else StillPairSource(backgrounds, RECIPE_AUG, still=StillConfig(
            lookalikes=(1, 3), static_target=0.3), min_side=12)
    for z, x, target, record in draws(source, 0, 12):
        assert z.shape == (127, 127, 3) and x.shape == (239, 239, 3)
        assert z.dtype == np.uint8 and x.dtype == np.uint8
        cx, cy, w, h = target
        assert all(isinstance(v, float) for v in target)
        assert 0 <= cx < 239 and 0 <= cy < 239 and w > 0 and h > 0
        frame_w, frame_h = record.frame_boxes[1][2:]
        np.testing.assert_allclose((w, h), np.multiply((frame_w, frame_h), record.crop_scale))
        assert record.source == kind and record.target_side == max(frame_w, frame_h)


def hide_target(scene: SyntheticScene) -> None:
    scene.target = dataclasses.replace(scene.target, alpha=np.zeros_like(scene.target.alpha))


def changed_box(with_target: np.ndarray, without: np.ndarray):
    """Bounding box (x0, y0, x1, y1) of the pixels the target changed."""
    ys, xs = np.nonzero(np.abs(with_target.astype(int) - without).max(axis=2) > 12)
    return xs.min(), ys.min(), xs.max(), ys.max()


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_target_box_is_where_the_cutout_is_in_frame_and_crop(media, seed):
    cutouts, backgrounds = media
    config = SceneConfig(camera=True, exposure=0.0, lookalikes=(2, 2), antialias=seed > 1,
                         **QUIET)
    scene = SyntheticScene(cutouts, backgrounds, np.random.default_rng(seed), config)
    scene.focus_on(12)
    frame_z, box_z = scene.render(0)
    frame_x, box_x = scene.render(12)
    assert box_ok(box_x, frame_x.shape) and box_ok(box_z, frame_z.shape)
    hide_target(scene)
    empty_x, gone = scene.render(12)
    assert gone is None
    x, y, w, h = box_x    # alpha > 0.5; the changed pixels add the soft edge (≤ 1 px)
    np.testing.assert_allclose(changed_box(frame_x, empty_x), (x, y, x + w - 1, y + h - 1),
                               atol=1.01)
    # the same crop (same draws) of the frame with and without the target
    crops = [crop_pair(frame_z, box_z, image, box_x, np.random.default_rng(seed), RECIPE_AUG)
             for image in (frame_x, empty_x)]
    window = crops[0][2]
    cx, cy, w, h = window.box(box_x)
    edges = (cx - (w - 1) / 2, cy - (h - 1) / 2, cx + (w - 1) / 2, cy + (h - 1) / 2)
    np.testing.assert_allclose(changed_box(crops[0][1], crops[1][1]), edges,
                               atol=window.scale + 1)


@pytest.mark.parametrize('side', [15, 22])
def test_small_cutouts_have_the_requested_side(media, side):
    """Every real cut-out drawn `side` px long (t = 0: no rotation) gets a box of that side
    ±1 px; the few that lose a thin part (antennae, strings) at that size come out smaller."""
    cutouts, _ = media
    errors = []
    for index, cutout in enumerate(cutouts):
        centre = np.array([300.0, 200.0]) + np.random.default_rng(index).random(2)
        layer = Layer(cutout.rgb, cutout.alpha, centre, np.zeros(2), np.zeros(3), side, 0, 0)
        box = paste(np.zeros((480, 640, 3), np.uint8), layer, 0, antialias=True)
        errors.append(max(box[2:]) - side)
    errors = np.array(errors)
    assert np.mean(np.abs(errors) <= 1) >= 0.98 and errors.max() <= 1, np.bincount(errors + 9)


@pytest.mark.parametrize('camera', [False, True])
def test_small_target_clips_among_lookalikes_pass_the_lowered_filter(media, camera):
    cutouts, backgrounds = media
    config = SceneConfig(small_target=1.0, small_side=(15, 15), camera=camera, lookalikes=(2, 2),
                         antialias=True)
    sides = []
    for seed in range(8):
        scene = SyntheticScene(cutouts, backgrounds, np.random.default_rng(seed), config)
        sides.append(max(scene.render(0)[1][2:]))     # t = 0: no rotation, growth or zoom yet
        assert len(scene.lookalikes) == 2
        assert all(12 <= layer.size <= 19 for layer in scene.lookalikes)   # look-alike sizes
    assert all(abs(side - 15) <= 1 for side in sides), sides
    assert not box_ok((100, 100, 15, 15), (480, 640))
    assert box_ok((100, 100, 15, 15), (480, 640), min_side=12)
    source = SyntheticPairSource(cutouts, backgrounds, RECIPE_AUG, scene=config, min_side=12)
    sides = [s.record.target_side for s in draws(source, 1, 10)]
    assert np.median(sides) < 20 and min(sides) >= 12


@pytest.mark.parametrize('camera', [False, True])
def test_lookalikes_are_same_category_counted_and_inside_the_search_crop(media, camera):
    cutouts, backgrounds = media
    config = SceneConfig(lookalikes=(3, 3), same_category=1.0, speed=0.0, target_side=(30, 60),
                         camera=camera, pan_speed=4.0, **QUIET)
    source = SyntheticPairSource(cutouts, backgrounds, STILL, scene=config)
    samples = draws(source, 2, 12)
    for _, _, target, record in samples:
        assert len(record.lookalikes) <= 3
        assert set(record.lookalike_categories) <= {record.target_category}
        for cx, cy, w, h in record.lookalikes:
            assert 0 <= cx < 239 and 0 <= cy < 239 and w > 0 and h > 0
            assert np.hypot(cx - target[0], cy - target[1]) > 0.25 * max(target[2:])
    counts = [len(s.record.lookalikes) for s in samples]
    assert counts.count(3) >= 10, counts      # all three in view unless near the frame border


def test_lookalikes_of_other_cutouts_render_where_reported(media):
    cutouts, backgrounds = media
    config = SceneConfig(lookalikes=(2, 2), same_category=1.0, target_side=(40, 60), **QUIET)
    scene = SyntheticScene(cutouts, backgrounds, np.random.default_rng(5), config)
    kin = {id(c.alpha) for c in cutouts if c.category == scene.target.category}
    assert {id(layer.alpha) for layer in scene.lookalikes} <= kin
    scene.focus_on(4)
    frame = scene.draw(4)
    hide_target(scene)
    for layer in scene.lookalikes:
        layer.alpha = np.zeros_like(layer.alpha)
    empty = scene.draw(4)
    diff = np.abs(frame.image.astype(int) - empty.image).max(axis=2) > 12
    covered = np.zeros_like(diff)
    for x, y, w, h in (frame.box, *frame.lookalike_boxes):
        covered[int(y) - 1:int(y + h) + 1, int(x) - 1:int(x + w) + 1] = True
    assert len(frame.lookalike_boxes) == 2 and diff.any() and not (diff & ~covered).any()


@pytest.mark.parametrize('follow', [0.0, 1.0])
def test_camera_moves_the_background_while_the_target_follows_its_own_path(media, follow):
    cutouts, backgrounds = media
    config = SceneConfig(camera=True, follow=follow, pan_speed=8.0, shake=0.0, zoom=0.0,
                         exposure=0.0, **QUIET)
    rng = np.random.default_rng(11)
    scene = next(s for s in (SyntheticScene(cutouts, backgrounds, rng, config) for _ in range(50))
                 if np.hypot(*s.camera.velocity) > 4 and np.hypot(*s.target.velocity) > 4)
    (frame0, box0), (frame1, box1) = scene.render(0), scene.render(8)
    shift = scene.background_shift(0, 8)
    np.testing.assert_allclose(shift, -8 * scene.camera.velocity)
    moved = cv2.warpAffine(frame0, np.float64([[1, 0, shift[0]], [0, 1, shift[1]]]), (640, 480))
    keep = np.ones((480, 640), bool)
    keep[:40], keep[-40:], keep[:, :40], keep[:, -40:] = False, False, False, False
    for x, y, w, h in (box0, box1):
        keep[int(y) - 4:int(y + h) + 4, int(x) - 4:int(x + w) + 4] = False
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(float) for f in (frame1, moved, frame0)]
    assert np.abs(gray[0] - gray[1])[keep].mean() < 0.3 * np.abs(gray[0] - gray[2])[keep].mean()
    centres = [np.add(b[:2], np.subtract(b[2:], 1) / 2) for b in (box0, box1)]
    path = [scene.camera.project(scene.target.pose(t)[0], t) for t in (0, 8)]
    np.testing.assert_allclose(centres[1] - centres[0], path[1] - path[0], atol=4.0)
    own = scene.target.pose(8)[0] - scene.target.pose(0)[0]     # its motion in the world
    np.testing.assert_allclose(path[1] - path[0], own + shift, atol=1e-6)
    if follow:   # the camera pans with the target: it stays, the background sweeps past
        assert np.hypot(*shift) > 32 and np.hypot(*(path[1] - path[0] - shift)) > 32


def test_camera_motion_blurs_the_frame(media):
    cutouts, backgrounds = media
    config = SceneConfig(camera=True, follow=0.0, pan_speed=12.0, exposure=1.0, **QUIET)
    rng = np.random.default_rng(4)
    scene = next(s for s in (SyntheticScene(cutouts, backgrounds, rng, config) for _ in range(50))
                 if s.camera.exposure > 0.6 and np.hypot(*s.camera.velocity) > 8)
    assert scene.camera_blur(5) > 4
    blurred, _ = scene.render(5)
    scene.camera = dataclasses.replace(scene.camera, exposure=0.0)
    sharp, _ = scene.render(5)
    detail = [cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
              for f in (blurred, sharp)]
    assert detail[0] < 0.6 * detail[1], detail


def test_still_lookalikes_are_patches_of_the_same_photo_inside_the_crop(media):
    _, backgrounds = media
    photo = backgrounds[0]
    canvas = np.zeros_like(photo)
    assert paste_patch(canvas, photo, (100, 50, 40, 30), (300, 200, 80, 60))
    expected = cv2.resize(photo[50:80, 100:140], (80, 60), interpolation=cv2.INTER_LINEAR)
    inner = np.abs(canvas[202:258, 302:378].astype(int) - expected[2:58, 2:78]).mean()
    assert inner < 3 and canvas[190:270, 290:390].any() and not canvas[:150].any()
    source = StillPairSource(backgrounds, STILL, still=StillConfig(lookalikes=(2, 2), twin=0.5))
    samples = draws(source, 3, 12)
    for _, _, _, record in samples:
        assert set(record.lookalike_categories) <= {record.target_category}
        assert record.target_category.startswith('photo ')
        for cx, cy, _, _ in record.lookalikes:
            assert 0 <= cx < 239 and 0 <= cy < 239
    assert sum(len(s.record.lookalikes) == 2 for s in samples) >= 8


def test_still_static_target_keeps_its_place_while_the_photo_moves(media):
    _, backgrounds = media
    source = StillPairSource(backgrounds, STILL, still=StillConfig(static_target=1.0))
    for _, _, _, record in draws(source, 4, 6):
        box_z, box_x = record.frame_boxes
        assert box_z == box_x and np.hypot(*record.camera_shift) > 0


@pytest.mark.parametrize('kind', ['synthetic', 'still'])
def test_samples_are_deterministic_under_a_seed(media, kind):
    cutouts, backgrounds = media

    def source():
        if kind == 'synthetic':
            return SyntheticPairSource(cutouts, backgrounds, RECIPE_AUG, scene=SceneConfig(
                small_target=0.3, lookalikes=(1, 3), camera=True), min_side=12)
        return StillPairSource(backgrounds, RECIPE_AUG, still=StillConfig(
            lookalikes=(1, 3), static_target=0.5))
    first, second, other = draws(source(), 7, 3), draws(source(), 7, 3), draws(source(), 8, 3)
    for a, b in zip(first, second):
        assert np.array_equal(a.z, b.z) and np.array_equal(a.x, b.x)
        assert a.target == b.target and a.record == b.record
    assert not all(np.array_equal(a.x, c.x) for a, c in zip(first, other))


def test_bad_settings_name_themselves():
    with pytest.raises(ValueError, match='lookalikes'):
        SceneConfig(lookalikes=(3, 1))
    with pytest.raises(ValueError, match='small_side'):
        SceneConfig(small_side=(15,))
    with pytest.raises(ValueError, match='follow'):
        SceneConfig(follow=1.5)
    with pytest.raises(ValueError, match='lookalikes'):
        StillConfig(lookalikes=(1.5, 2))


def test_same_category_lookalikes_need_categories(media):
    cutouts, backgrounds = media
    unlabelled = [c._replace(category='') for c in cutouts[:10]]
    with pytest.raises(ValueError, match='categories.tsv'):
        SyntheticPairSource(unlabelled, backgrounds, STILL, scene=SceneConfig(lookalikes=(1, 2)))


def test_recipe_config_switches_the_options_on_and_bad_values_name_the_key(repo_root,
                                                                           tmp_path):
    config = load_train_config(repo_root / 'config/train/siamfc_mobilenetv2_recipe.yaml')
    clips, stills = config.data.synthetic_clips, config.data.still_pairs
    assert clips.camera and clips.antialias and clips.lookalikes == (1, 3)
    assert clips.small_side == (15.0, 30.0) and config.data.min_target_side == 12.0
    assert stills.lookalikes == (0, 2) and stills.static_target > 0
    assert config.val.root.endswith('sot_val') and not config.data.datasets
    shipped = load_train_config(repo_root / 'config/train/siamfc_mobilenetv2.yaml')
    kept = shipped.data.synthetic_clips        # what the sot_val ablation kept
    assert kept.lookalikes == (1, 3) and not kept.camera and kept.small_target == 0.3
    assert shipped.val.root.endswith('sot_val') and shipped.val.max_frames == 0
    assert load_train_config(repo_root / 'config/train/siamrpn_alexnet.yaml').data \
        .synthetic_clips == SceneConfig()      # the other configs keep the original clips
    bad = tmp_path / 'bad.yaml'
    bad.write_text('train:\n  name: x\n  data:\n    synthetic_clips:\n      lookalikes: [3, 1]\n')
    with pytest.raises(TrainConfigError, match='synthetic_clips.*lookalikes'):
        load_train_config(bad)
