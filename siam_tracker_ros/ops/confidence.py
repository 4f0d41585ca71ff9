"""Confidence features of one frame: how sure the response map is that it holds the target,
and how much the tracked box looks like the target in colour (`ops.appearance`).

Pure numpy functions of the map a tracker decoded (the SiamFC family: the chosen scale's raw
r×r logits; the RPN family: the per-cell best anchor's foreground probability). All of them
are invariant to adding a constant to the map, and APCE, PSR and the second-peak ratio also
to scaling it, so logits and probabilities can be fed alike.
"""
from dataclasses import dataclass

import numpy as np

EPS = 1e-12


@dataclass(frozen=True)
class MapConfidence:
    """The features of one frame: its decoded map's, and the box's colour objectness.

    score: the tracker's score in [0, 1] (the peak as a probability).
    apce: average peak-to-correlation energy, |max − min|² / mean((F − min)²); a sharp single
        peak gives a large value, a flat or many-peaked map a small one.
    psr: peak-to-sidelobe ratio, (max − mean_s) / std_s over the sidelobe s (the map outside a
        window around the peak).
    second_peak: (max_s − min) / (max − min), the highest sidelobe value against the peak,
        in [0, 1]; near 1 when a second place is as good as the first.
    colour: the tracked box's colour objectness against the init box's
        (`ops.appearance.ColourModel`); 1.0 where it was not measured.
    """

    score: float
    apce: float
    psr: float
    second_peak: float
    colour: float = 1.0


NO_CONFIDENCE = MapConfidence(0.0, 0.0, 0.0, 1.0)


def apce(response: np.ndarray) -> float:
    """|F_max − F_min|² / mean((F − F_min)²); 0 for a constant map."""
    values = np.asarray(response, np.float64)
    shifted = values - values.min()
    energy = float(np.mean(shifted ** 2))
    return float(shifted.max() ** 2 / energy) if energy > EPS else 0.0


def sidelobe_mask(shape, peak, radius: int) -> np.ndarray:
    """True outside the (2·radius + 1)² square around `peak` (row, col)."""
    mask = np.ones(shape, bool)
    row, col = peak
    mask[max(row - radius, 0):row + radius + 1, max(col - radius, 0):col + radius + 1] = False
    return mask


def exclusion_radius(side: int) -> int:
    """Half-width of the peak's window: an eighth of the map side, at least 1 cell."""
    return max(1, side // 8)


def psr_and_second_peak(response: np.ndarray) -> tuple:
    """(PSR, second-peak ratio) of a 2-D map; (0, 1) for a constant map."""
    values = np.asarray(response, np.float64)
    peak = np.unravel_index(int(np.argmax(values)), values.shape)
    side = sidelobe_mask(values.shape, peak, exclusion_radius(min(values.shape)))
    lobe = values[side]
    top, low = float(values.max()), float(values.min())
    if lobe.size == 0 or top - low <= EPS:
        return 0.0, 1.0
    psr = (top - float(lobe.mean())) / max(float(lobe.std()), EPS)
    return float(psr), float((lobe.max() - low) / (top - low))


def map_confidence(response: np.ndarray, score: float) -> MapConfidence:
    """All features of one 2-D map with the tracker's score; NO_CONFIDENCE if not finite."""
    values = np.asarray(response, np.float64)
    if values.ndim != 2 or not np.isfinite(values).all():
        return NO_CONFIDENCE
    psr, second = psr_and_second_peak(values)
    return MapConfidence(float(score), apce(values), psr, second)
