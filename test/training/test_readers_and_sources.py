"""Dataset readers used for training on tiny generated datasets, and the pair sources."""
import dataclasses

import numpy as np
import pytest

from siam_tracker_ros.data.augment import AugmentConfig, make_pair
from siam_tracker_ros.data.media import SkipCounter, load_cutouts, load_images
from siam_tracker_ros.data.sources import SequencePairSource, SyntheticPairSource
from siam_tracker_ros.data.stills import StillPairSource
from siam_tracker_ros.data.synthetic import SyntheticScene
from siam_tracker_ros.datasets.ilsvrc_vid import read_ilsvrc_vid
from siam_tracker_ros.training.config import DatasetSpec, TrainConfigError
from siam_tracker_ros.training.data import read_dataset

from tiny_data import track_boxes, write_got10k, write_ilsvrc_vid, write_lasot, write_media, \
    write_otb


def test_ilsvrc_vid_reader(tmp_path):
    sequences = read_ilsvrc_vid(write_ilsvrc_vid(tmp_path))
    assert [s.name.split('.')[-1] for s in sequences] == ['0', '1']
    full, half = sequences
    np.testing.assert_allclose(full.boxes, track_boxes(6))
    assert not full.absent.any() and half.absent.tolist() == [False] * 3 + [True] * 3
    np.testing.assert_allclose(half.boxes[0], [10, 10, 40, 30])
    assert full.frames[0].endswith('000000.JPEG') and str(full.extra['class'][0]) == 'n02084071'


@pytest.mark.parametrize('layout,writer,absent_last', [
    ('otb', write_otb, False), ('got10k', write_got10k, True), ('lasot', write_lasot, False),
    ('ilsvrc_vid', write_ilsvrc_vid, False)])
def test_read_dataset_and_pairs(tmp_path, layout, writer, absent_last):
    sequences = read_dataset(DatasetSpec(layout, str(writer(tmp_path))))
    target = sequences[0]
    np.testing.assert_allclose(target.boxes[:5], track_boxes(6)[:5])
    if absent_last:
        assert target.absent[-1]
    source = SequencePairSource([target], AugmentConfig(search_shift=0, template_shift=0,
                                                        search_scale=0, template_scale=0,
                                                        color_pca=0), frame_range=2)
    rng = np.random.default_rng(0)
    z, x, target = next(p for p in (source.sample(rng) for _ in range(20)) if p is not None)
    assert z.shape == (127, 127, 3) and x.shape == (239, 239, 3)
    np.testing.assert_allclose(target[:2], (119, 119), atol=2.0)
    # the 40×30 box at the crop's scale (s_x = 239/127·s_z, s_z = sqrt(75·65))
    scale = 127 / np.sqrt(75 * 65)
    np.testing.assert_allclose(target[2:], (40 * scale, 30 * scale), rtol=0.02)
    row, col = round(target[1]), round(target[0])
    assert x[row, col, 0] > 200 and x[row, col, 2] < 60   # the red target is at the centre


def test_missing_dataset_path_names_itself(tmp_path):
    missing = tmp_path / 'no_such_got10k'
    with pytest.raises(TrainConfigError, match='no_such_got10k'):
        read_dataset(DatasetSpec('got10k', str(missing)))


def test_make_pair_target_follows_shift():
    image = np.zeros((400, 400, 3), np.uint8)
    image[190:210, 190:210] = 255
    config = AugmentConfig(search_shift=40, search_scale=0.0, template_scale=0.0, color_pca=0)
    for seed in range(5):
        _, x, (tx, ty, tw, th) = make_pair(image, (190, 190, 20, 20), image, (190, 190, 20, 20),
                                           np.random.default_rng(seed), config)
        ys, xs = np.nonzero(x[:, :, 0] > 128)
        assert abs(xs.mean() - tx) < 1.0 and abs(ys.mean() - ty) < 1.0
        assert abs(xs.max() - xs.min() + 1 - tw) < 1.5 and abs(ys.max() - ys.min() + 1 - th) < 1.5


def test_media_skips_and_counts_bad_files(tmp_path):
    media = write_media(tmp_path)
    skipped = SkipCounter()
    cutouts = load_cutouts(media / 'stamps', skipped, photo_only=False)
    backgrounds = load_images(media / 'backgrounds', skipped)
    assert len(cutouts) == 4 and len(backgrounds) == 3
    assert skipped.count == 2 and any('broken.png' in r for r in skipped.reasons)


def test_synthetic_boxes_are_exact(tmp_path):
    """The box a scene reports is where its target's pixels are: the bounding box of what the
    target changes in the frame (rendered again with the target transparent), within 1 px."""
    media = write_media(tmp_path, corrupt=False)
    skipped = SkipCounter()
    cutouts = load_cutouts(media / 'stamps', skipped, photo_only=False)
    scene = SyntheticScene(cutouts, load_images(media / 'backgrounds', skipped),
                           np.random.default_rng(3))
    scene.others = []   # no distractors/occluder: only the target differs between the renders
    scene.occluder_index = None
    scene.blur_speed = np.inf   # motion blur would smear the target past its box
    target = scene.target
    for t in (0, 5):
        scene.target = target
        frame, (x, y, w, h) = scene.render(t)
        scene.target = dataclasses.replace(target, alpha=np.zeros_like(target.alpha))
        empty, _ = scene.render(t)
        ys, xs = np.nonzero(np.abs(frame.astype(int) - empty).max(axis=2) > 12)
        np.testing.assert_allclose((xs.min(), ys.min(), xs.max(), ys.max()),
                                   (x, y, x + w - 1, y + h - 1), atol=1.01)


def test_synthetic_and_still_sources_give_valid_pairs(tmp_path):
    media = write_media(tmp_path, corrupt=False)
    skipped = SkipCounter()
    cutouts = load_cutouts(media / 'stamps', skipped, photo_only=False)
    backgrounds = load_images(media / 'backgrounds', skipped)
    rng = np.random.default_rng(0)
    for source in (SyntheticPairSource(cutouts, backgrounds, AugmentConfig()),
                   StillPairSource(backgrounds, AugmentConfig(search_shift=32))):
        pairs = [p for p in (source.sample(rng) for _ in range(30)) if p is not None]
        assert pairs
        for z, x, (tx, ty, tw, th) in pairs:
            assert z.shape == (127, 127, 3) and x.shape == (239, 239, 3)
            assert 0 <= tx < 239 and 0 <= ty < 239 and tw > 0 and th > 0


def test_corrupt_sequence_frames_are_skipped_and_counted(tmp_path):
    target = read_dataset(DatasetSpec('got10k', str(write_got10k(tmp_path))))[0]
    for frame in target.frames[1:3]:
        open(frame, 'wb').write(b'corrupt')
    skipped = SkipCounter()
    source = SequencePairSource([target], AugmentConfig(), frame_range=5, skipped=skipped)
    rng = np.random.default_rng(0)
    pairs = [source.sample(rng) for _ in range(20)]
    assert any(p is not None for p in pairs) and any(p is None for p in pairs)
    assert skipped.count > 0 and 'not a readable image' in skipped.reasons[0]
