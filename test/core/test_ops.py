"""Spec §1.9 checks C1–C4 and C7: crop geometry and padding, boxes, correlation, labels."""
import numpy as np
import pytest
import torch

from siam_tracker_ros.ops.boxes import cxcywh_to_xywh, xywh_to_cxcywh
from siam_tracker_ros.ops.correlation import dwxcorr, xcorr
from siam_tracker_ros.ops.crop import crop_patch, crop_window, template_side
from siam_tracker_ros.ops.labels import balanced_weights, logistic_labels


def test_crop_centres_a_bright_pixel_exactly():  # C1, S = m odd
    image = np.zeros((200, 300, 3), np.uint8)
    image[77, 131] = 255
    patch = crop_patch(image, (131, 77), 63, 63, (0, 0, 0))
    assert tuple(np.argwhere(patch[:, :, 0] == 255)[0]) == (31, 31)


@pytest.mark.parametrize('side', [41.0, 97.3, 151.0])
def test_crop_centroid_within_half_output_pixel_scaled(side):  # C1, S != m
    image = np.zeros((300, 300, 3), np.uint8)
    image[140, 160] = 255
    patch = crop_patch(image, (160, 140), side, 63, (0, 0, 0))[:, :, 0].astype(float)
    ys, xs = np.mgrid[:63, :63]
    centroid = np.array([(xs * patch).sum(), (ys * patch).sum()]) / patch.sum()
    assert np.all(np.abs(centroid - 31) <= 0.5 * 63 / round(side) + 1e-9)


def test_crop_outside_image_is_all_padding():  # C2
    image = np.full((50, 60, 3), 200, np.uint8)
    patch = crop_patch(image, (500, -400), 40, 31, (10, 20, 30))
    assert np.all(patch == np.array([10, 20, 30], np.uint8))


def test_crop_half_outside_has_image_left_and_padding_right():  # C2
    image = np.full((100, 100, 3), 200, np.uint8)
    patch = crop_patch(image, (99, 50), 21, 21, (7, 8, 9))  # window x 89..109
    assert np.all(patch[:, :11] == 200)
    assert np.all(patch[:, 11:] == np.array([7, 8, 9], np.uint8))


def test_crop_matches_torch_bilinear_within_one_unit(sot_dir):
    import cv2
    image = cv2.imread(str(sot_dir / 'otb_Crossing' / 'img' / '0001.jpg'))
    patch = crop_patch(image, (150.2, 100.7), 101, 255, (0, 0, 0))
    x0, y0 = 100, 51  # floor(150.2 - 50 + .5), floor(100.7 - 50 + .5)
    window = torch.from_numpy(image[y0:y0 + 101, x0:x0 + 101]).permute(2, 0, 1)[None].float()
    ref = torch.nn.functional.interpolate(window, size=(255, 255), mode='bilinear',
                                          align_corners=False)
    ref = ref[0].permute(1, 2, 0).round().numpy()
    assert np.abs(ref - patch).max() <= 1


def _padded_then_resized(image, center, size, out_size, pad_color):
    """The crop's definition, built literally: the whole padded S x S window, then resized."""
    import cv2
    x0, y0, side = crop_window(center, size)
    height, width = image.shape[:2]
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = np.round(np.asarray(pad_color, np.float64)).astype(np.uint8)
    ys, xs = slice(max(y0, 0), min(y0 + side, height)), slice(max(x0, 0), min(x0 + side, width))
    if ys.start < ys.stop and xs.start < xs.stop:
        canvas[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0] = image[ys, xs]
    if side == out_size:
        return canvas
    return cv2.resize(canvas, (out_size, out_size), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope='module')
def crossing(sot_dir):
    import cv2
    frames = [cv2.imread(str(sot_dir / 'otb_Crossing' / 'img' / f'{i:04d}.jpg')) for i in (1, 60)]
    return [(f, tuple(f.reshape(-1, 3).mean(axis=0))) for f in frames]


def test_ordinary_crops_are_exactly_pad_then_resize(crossing):  # C2, bounded-memory change
    rng = np.random.default_rng(3)
    for image, pad in crossing:
        height, width = image.shape[:2]
        for _ in range(60):
            center = rng.uniform([-80, -80], [width + 80, height + 80])
            size = rng.uniform(5, 4 * np.sqrt(height * width) - 1)  # area up to 16x the image
            out = int(rng.choice([127, 255, 63]))
            assert np.array_equal(crop_patch(image, center, size, out, pad),
                                  _padded_then_resized(image, center, size, out, pad))


@pytest.mark.parametrize('side', [1500, 4000, 9000])
def test_huge_windows_cost_bounded_memory_and_match_within_one_level(crossing, side):
    import tracemalloc
    image, pad = crossing[0]  # 360x240: the windows are 4-25 times its width
    for center in ((180, 120), (-400, 60), (500, 300)):
        tracemalloc.start()
        patch = crop_patch(image, center, side, 255, pad)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 2 * 255 * 255 * 3 + image.nbytes, f'{peak} bytes for a {side} window'
        literal = _padded_then_resized(image, center, side, 255, pad)
        assert np.abs(patch.astype(int) - literal).max() <= 1


def test_absurd_window_is_cheap():  # issue 15: 10000x10000 boxes asked OpenCV for 4.5 GB
    import tracemalloc
    image = np.full((360, 640, 3), 90, np.uint8)
    tracemalloc.start()
    patch = crop_patch(image, (320, 180), 60000.0, 255, (1, 2, 3))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 255 * 255 * 3
    assert patch.shape == (255, 255, 3) and (patch[127, 127] == 90).all()
    assert (patch[0, 0] == (1, 2, 3)).all()


def test_template_side_formula():
    assert template_side(40, 20) == pytest.approx(np.sqrt(70 * 50))


def test_box_round_trip():  # C3
    rng = np.random.default_rng(0)
    boxes = rng.uniform(-50, 500, size=(100, 4))
    assert np.abs(cxcywh_to_xywh(xywh_to_cxcywh(boxes)) - boxes).max() < 1e-9
    assert xywh_to_cxcywh((10, 20, 5, 7)) == (12.0, 23.0, 5.0, 7.0)


def test_xcorr_peaks_at_insert_offset_and_matches_brute_force():  # C4
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(1, 4, 5, 6, generator=gen)
    x = 0.01 * torch.randn(1, 4, 20, 22, generator=gen)
    x[:, :, 7:12, 3:9] = z[0]
    out = xcorr(z, x)[0, 0]
    assert tuple(np.unravel_index(out.argmax().item(), out.shape)) == (7, 3)
    brute = torch.zeros(16, 17)
    for i in range(16):
        for j in range(17):
            brute[i, j] = (z[0] * x[0, :, i:i + 5, j:j + 6]).sum()
    assert torch.allclose(out, brute, atol=1e-4)


def test_batched_xcorr_and_dwxcorr_peak_per_sample():  # C4
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(2, 3, 4, 4, generator=gen)
    x = 0.01 * torch.randn(2, 3, 16, 16, generator=gen)
    x[0, :, 2:6, 9:13] = z[0]
    x[1, :, 10:14, 1:5] = z[1]
    full = xcorr(z, x)
    depth = dwxcorr(z, x).sum(1)
    assert full.shape == (2, 1, 13, 13)
    for k, peak in enumerate([(2, 9), (10, 1)]):
        assert tuple(np.unravel_index(full[k, 0].argmax().item(), (13, 13))) == peak
        assert tuple(np.unravel_index(depth[k].argmax().item(), (13, 13))) == peak
        assert torch.allclose(depth[k], full[k, 0], atol=1e-5)


@pytest.mark.parametrize('size,input_size', [(15, 239), (17, 255), (25, 287)])
def test_centred_labels_have_13_positives(size, input_size):  # C7
    labels = logistic_labels(size, ((input_size - 1) / 2, (input_size - 1) / 2), input_size)
    assert (labels > 0).sum() == 13


def test_balanced_weights_sum_to_one_and_outside_target_is_all_negative():  # C7
    inside = logistic_labels(17, (127, 127), 255)
    outside = logistic_labels(17, (600, 600), 255)
    assert np.all(outside == -1)
    weights = balanced_weights(torch.from_numpy(np.stack([inside, outside])))
    assert torch.allclose(weights.sum((1, 2)), torch.ones(2, dtype=weights.dtype))
