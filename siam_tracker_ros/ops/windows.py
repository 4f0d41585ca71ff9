"""Windows used by decoders and DSiam (spec §1.4: zeros at both ends, like numpy.hanning)."""
import numpy as np


def hann(length: int) -> np.ndarray:
    """hann(L)[k] = 0.5 − 0.5·cos(2πk/(L−1))."""
    return np.hanning(length)


def hann2d(height: int, width: int = None, normalise: bool = False) -> np.ndarray:
    """Outer product of two Hann windows, optionally divided by its sum."""
    window = np.outer(hann(height), hann(width or height))
    return window / window.sum() if normalise else window
