"""ops/device_crop.py equals ops/crop.py crop_patch (spec §1.2) on CPU tensors: within one grey
level on real frames, windows partly or wholly outside the image included, and the sampled
positions within 0.5 px (in fact 0.01 px) on coordinate ramps; the crops become network input
(`runtime.to_input`) in the weights' format."""
import cv2
import numpy as np
import pytest
import torch

from siam_tracker_ros.models.weights import CAFFE_INPUT, IMAGENET_INPUT
from siam_tracker_ros.ops.crop import crop_patch, image_mean_color
from siam_tracker_ros.ops.device_crop import crop_patches, image_tensor
from siam_tracker_ros.runtime import normalisation, to_input


def windows(height, width):
    """(centre, side, out_size): inside, partly outside on every side, up- and downscaled,
    S = m, tiny, wholly outside, and a window > 16× the image (crop.py's resample path)."""
    return [((width / 2 + 0.3, height / 2 - 0.7), 150.2, 255), ((10.0, 5.0), 300.0, 255),
            ((width - 3.0, height - 2.0), 90.4, 127), ((width / 2, 4.0), 255.0, 255),
            ((2.0, height / 2), 60.6, 127), ((width - 1.0, 0.0), 401.7, 255),
            ((-80.0, -90.0), 100.0, 127), ((3.0, 3.0), 1.2, 127),
            ((width / 2, height / 2), 5000.0, 255)]


def frame(sot_dir, sequence: str) -> np.ndarray:
    image = cv2.imread(str(sorted((sot_dir / sequence / 'img').glob('*.jpg'))[0]))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize('sequence', ['vot15_bag', 'otb_DragonBaby'])
def test_device_crop_equals_crop_patch_on_real_frames(sot_dir, sequence):
    """§1.2 crop: one grey level at most (uint8 rounding of OpenCV's fixed-point resize)."""
    image = frame(sot_dir, sequence)
    pad = image_mean_color(image)
    cases = windows(*image.shape[:2])
    tensor = image_tensor(image)
    for out_size in (127, 255):  # several windows of one size per call, like a scale pyramid
        chosen = [(c, s) for c, s, m in cases if m == out_size]
        crops = crop_patches(tensor, [c for c, _ in chosen], [s for _, s in chosen], out_size,
                             pad).permute(0, 2, 3, 1).numpy()
        for crop, (center, side) in zip(crops, chosen):
            reference = crop_patch(image, center, side, out_size, pad).astype(np.float64)
            difference = np.abs(np.round(crop) - reference)
            assert difference.max() <= 1, (center, side, difference.max())
            assert difference.mean() < 0.2, (center, side, difference.mean())


def test_device_crop_samples_the_same_positions_within_half_a_pixel():
    """On float images whose value is the x (or y) coordinate, the crop's value is the sampled
    position: both crops agree within 0.01 px, padding at the edges included."""
    height, width = 220, 300
    ramp = np.zeros((height, width, 3), np.float32)
    ramp[..., 0] = np.arange(width)[None]
    ramp[..., 1] = np.arange(height)[:, None]
    ramp[..., 2] = 7.0
    pad = (-40.0, -50.0, 7.0)
    for center, side, out_size in windows(height, width):
        if center[0] < 0:  # wholly outside: crop.py fills uint8 padding (the test above)
            continue
        reference = crop_patch(ramp, center, side, out_size, pad)
        crop = crop_patches(image_tensor(ramp), [center], [side], out_size, pad)[0]
        offset = np.abs(crop.permute(1, 2, 0).numpy() - reference)
        assert offset.max() < 0.01, (center, side, offset.max())


def test_device_crop_keeps_the_device_and_rejects_bad_input():
    image = image_tensor(np.zeros((40, 50, 3), np.uint8))
    assert crop_patches(image, [(20, 20)], [30], 16, (1, 2, 3)).device == image.device
    with pytest.raises(ValueError, match='centres'):
        crop_patches(image, [(20, 20)], [30, 40], 16, (1, 2, 3))
    with pytest.raises(ValueError, match='H×W×3'):
        image_tensor(torch.zeros(40, 50))


@pytest.mark.parametrize('input_format', [IMAGENET_INPUT, CAFFE_INPUT])
def test_network_input_is_the_weights_format_with_constants_uploaded_once(sot_dir,
                                                                          input_format):
    """`to_input` on a real crop, uint8 array and device-crop tensor alike, equals
    (v·scale − mean) / std in the weights' channel order; the mean and std tensors are
    uploaded once per (format, device), not on every frame."""
    crop = crop_patch(frame(sot_dir, 'vot15_bag'), (300.0, 200.0), 180.0, 127, (0, 0, 0))
    channels = crop[..., ::-1] if input_format.order == 'BGR' else crop
    expected = (channels * input_format.scale - np.array(input_format.mean)) / \
        np.array(input_format.std)
    cpu = torch.device('cpu')
    from_array = to_input(crop[None], cpu, torch.float32, input_format)
    from_tensor = to_input(torch.as_tensor(crop).permute(2, 0, 1)[None].float(), cpu,
                           torch.float32, input_format)
    for tensor in (from_array, from_tensor):
        assert tensor.shape == (1, 3, 127, 127)
        np.testing.assert_allclose(tensor[0].permute(1, 2, 0).numpy(), expected, atol=1e-4)
    first, second = normalisation(input_format, cpu), normalisation(input_format, cpu)
    assert all(a is b for a, b in zip(first, second))
