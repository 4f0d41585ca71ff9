"""Windows used by decoders and DSiam (spec §1.4: zeros at both ends, like numpy.hanning)."""
import numpy as np

# σ of the DSiam mask's Gaussian (spec §3): so wide that M is effectively Hamming×Hann.
DSIAM_MASK_SIGMA = 100.0 * 127


def hann(length: int) -> np.ndarray:
    """hann(L)[k] = 0.5 − 0.5·cos(2πk/(L−1))."""
    return np.hanning(length)


def hamming(length: int) -> np.ndarray:
    """hamming(L)[k] = 0.54 − 0.46·cos(2πk/(L−1)), like numpy.hamming (0.08 at both ends)."""
    return np.hamming(length)


def hann2d(height: int, width: int = None, normalise: bool = False) -> np.ndarray:
    """Outer product of two Hann windows, optionally divided by its sum."""
    window = np.outer(hann(height), hann(width or height))
    return window / window.sum() if normalise else window


def dsiam_search_mask(size: int = 255, sigma: float = DSIAM_MASK_SIGMA) -> np.ndarray:
    """DSiam's weight map M for Ḡ_t = G_t ⊙ M (spec §3, §9.8), size×size float64.

    M[r, c] = hamming(size)[r] · hann(size)[c] · exp(−d²/(2σ²)), d the distance of (r, c) from
    the centre in pixels, normalised to max 1.
    """
    offsets = np.arange(size) - (size - 1) / 2
    gaussian = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma ** 2))
    mask = np.outer(hamming(size), hann(size)) * gaussian
    return mask / mask.max()
