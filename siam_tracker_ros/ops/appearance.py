"""A colour model of the target, a LOST signal from outside the response map (docs/ros.md).

At init, joint RGB histograms (16 levels per channel) of the target box and of the ring
around it (the box grown `RING` times, minus the box) give each colour a likelihood of
belonging to the target, p(target | colour) = f / (f + b) with f, b the two normalised
histograms. Every frame the mean likelihood of the pixels inside the tracked box, against its
value in the init box, is the box's *colour objectness*: about 1 while the box holds the
target, lower when it has drifted onto colours of the surroundings. It catches failures the
map does not (a confident drift onto the background) and it knows nothing of the network, so
every tracker family gets it alike. Pure numpy.
"""
import numpy as np

from siam_tracker_ros.ops.boxes import cxcywh_to_xywh, xywh_to_cxcywh, xywh_to_xyxy

LEVELS = 16
SHIFT = 4                      # 256 // LEVELS == 2 ** SHIFT
RING = 3.0
MAX_SAMPLES = 64               # pixels per box side read per frame (larger boxes are strided)
EPS = 1e-6


def colour_codes(pixels: np.ndarray) -> np.ndarray:
    """Joint colour bin (0 .. LEVELS³ − 1) of each uint8 RGB pixel (…×3)."""
    q = (pixels >> SHIFT).astype(np.int32)
    return (q[..., 0] * LEVELS + q[..., 1]) * LEVELS + q[..., 2]


def pixel_bounds(box, width: int, height: int) -> tuple:
    """(x0, y0, x1, y1) integer pixel bounds of an `xywh` box (outward), clipped to the image."""
    x0, y0, x1, y1 = xywh_to_xyxy(box)
    return (int(np.clip(np.floor(x0), 0, width)), int(np.clip(np.floor(y0), 0, height)),
            int(np.clip(np.ceil(x1), 0, width)), int(np.clip(np.ceil(y1), 0, height)))


def grown(box, factor: float) -> tuple:
    """The `xywh` box scaled by `factor` about its centre."""
    cx, cy, w, h = xywh_to_cxcywh(box)
    return cxcywh_to_xywh((cx, cy, factor * w, factor * h))


def histogram(codes: np.ndarray) -> np.ndarray:
    """Normalised LEVELS³-bin histogram of colour codes (zeros when there are none)."""
    counts = np.bincount(codes.ravel(), minlength=LEVELS ** 3).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


class ColourModel:
    """p(target | colour) from the init frame, and the colour objectness of later boxes."""

    def __init__(self, image: np.ndarray, box):
        height, width = image.shape[:2]
        X0, Y0, X1, Y1 = pixel_bounds(grown(box, RING), width, height)
        x0, y0, x1, y1 = pixel_bounds(box, width, height)
        codes = colour_codes(image[Y0:Y1, X0:X1])
        inside = np.zeros(codes.shape, bool)
        inside[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0] = True
        target, around = histogram(codes[inside]), histogram(codes[~inside])
        self.likelihood = (target + EPS) / (target + around + 2 * EPS)
        self.base = max(self.mean_likelihood(image, box), EPS)

    def mean_likelihood(self, image: np.ndarray, box) -> float:
        """Mean p(target | colour) over the box's pixels (strided to MAX_SAMPLES per side);
        0 for a box with no pixel in the image."""
        x0, y0, x1, y1 = pixel_bounds(box, image.shape[1], image.shape[0])
        if x1 <= x0 or y1 <= y0:
            return 0.0
        step_x = max(1, (x1 - x0) // MAX_SAMPLES)
        step_y = max(1, (y1 - y0) // MAX_SAMPLES)
        codes = colour_codes(image[y0:y1:step_y, x0:x1:step_x])
        return float(self.likelihood[codes].mean())

    def objectness(self, image: np.ndarray, box) -> float:
        """The box's mean likelihood against the init box's: ~1 on the target."""
        return self.mean_likelihood(image, box) / self.base
