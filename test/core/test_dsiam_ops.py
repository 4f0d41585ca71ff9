"""Spec §3 checks DS-1, DS-2, DS-3 and DS-7: RLR/CirConv operators and the DSiam mask M."""
import numpy as np
import pytest
import torch

from siam_tracker_ros.ops.rlr import (TransformShapeError, apply_transform, blend,
                                      feature_window, rlr, spectrum)
from siam_tracker_ros.ops.windows import dsiam_search_mask, hamming, hann


def circulant(image: np.ndarray) -> np.ndarray:
    """C with C·vec(t) = vec(t ⊛ image), ⊛ 2-D circular convolution."""
    height, width = image.shape
    matrix = np.empty((height * width, height * width))
    for m in range(height):
        for n in range(width):
            for p in range(height):
                for q in range(width):
                    matrix[m * width + n, p * width + q] = image[(m - p) % height,
                                                                 (n - q) % width]
    return matrix


def test_rlr_equals_ridge_solution_of_circulant_system():  # DS-1
    rng = np.random.default_rng(1)
    x, y, z = (rng.normal(size=(2, 5, 4)) for _ in range(3))
    lam, n = 0.3, 20
    t_hat = rlr(torch.from_numpy(x), torch.from_numpy(y), lam)
    spatial = torch.fft.irfft2(t_hat, s=(5, 4)).numpy()
    applied = apply_transform(t_hat, torch.from_numpy(z)).numpy()
    for k in range(2):  # per channel, no cross-channel sum
        c = circulant(x[k])
        ridge = np.linalg.solve(c.T @ c + lam * n * np.eye(n), c.T @ y[k].ravel())
        assert np.abs(spatial[k].ravel() - ridge).max() < 1e-10
        assert np.abs(applied[k].ravel() - circulant(z[k]) @ ridge).max() < 1e-10


def test_rlr_of_x_onto_itself_is_identity_as_lambda_vanishes():  # DS-2
    generator = torch.Generator().manual_seed(2)
    x, z = (torch.randn(3, 6, 7, generator=generator, dtype=torch.float64) for _ in range(2))
    assert spectrum(x).abs().min() > 1e-3  # precondition: X̂ has no zeros
    out = apply_transform(rlr(x, x, 1e-14), z)
    assert torch.allclose(out, z, rtol=0, atol=1e-9)


def test_alpha_zero_and_off_give_the_features_exactly():  # DS-2
    generator = torch.Generator().manual_seed(3)
    features, other = (torch.randn(2, 4, 8, 8, generator=generator) for _ in range(2))
    assert torch.equal(blend(features, other, 0.0), features)
    assert apply_transform(None, features) is features


@pytest.mark.parametrize('windowed', [False, True])
def test_rlr_then_apply_passes_gradcheck(windowed):  # DS-3
    generator = torch.Generator().manual_seed(4)
    x, y, z = (torch.randn(2, 4, 4, generator=generator, dtype=torch.float64,
                           requires_grad=True) for _ in range(3))
    lam = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    window = feature_window(x) if windowed else None

    def layer(x, y, z, lam):
        return apply_transform(rlr(x, y, lam, window), z, window)

    assert torch.autograd.gradcheck(layer, (x, y, z, lam))


def test_float32_matches_float64():
    generator = torch.Generator().manual_seed(5)
    x, y, z = (torch.randn(1, 8, 24, 24, generator=generator, dtype=torch.float64)
               for _ in range(3))
    window = feature_window(x)
    exact = apply_transform(rlr(x, y, 10.0, window), z, window)
    single = apply_transform(rlr(x.float(), y.float(), 10.0, window.float()), z.float(),
                             window.float())
    assert single.dtype == torch.float32
    assert torch.allclose(single.double(), exact, rtol=0, atol=1e-5 * exact.abs().max())


def test_window_zeroes_the_feature_border_before_the_fft():
    features = torch.ones(1, 2, 6, 5)
    window = feature_window(features)
    assert window.shape == (6, 5)
    assert torch.equal(window[0], torch.zeros(5)) and torch.equal(window[:, -1], torch.zeros(6))
    assert torch.allclose(spectrum(features, window), torch.fft.rfft2(features * window))


def test_bad_shapes_are_named_errors():
    with pytest.raises(TransformShapeError, match='one shape'):
        rlr(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5), 1.0)
    t_hat = rlr(torch.ones(1, 2, 8, 8), torch.ones(1, 2, 8, 8), 1.0)
    with pytest.raises(ValueError, match='does not fit'):
        apply_transform(t_hat, torch.zeros(1, 2, 6, 6))


def test_hamming_formula():
    k = np.arange(9)
    assert np.allclose(hamming(9), 0.54 - 0.46 * np.cos(2 * np.pi * k / 8))


def test_dsiam_mask_values():  # DS-7
    mask = dsiam_search_mask(255)
    assert mask.shape == (255, 255)
    assert mask[127, 127] == pytest.approx(1.0, abs=1e-12) and mask.max() == mask[127, 127]
    assert abs(mask[0, 127] - 0.08) <= 1e-3 and abs(mask[254, 127] - 0.08) <= 1e-3
    assert np.all(mask[:, 0] == 0) and np.all(mask[:, 254] == 0)
    # rows Hamming, columns Hann: the Gaussian (σ = 12,700 px) changes M by < 1e-4
    assert np.abs(mask - np.outer(hamming(255), hann(255))).max() < 1e-4
