"""VOT region overlap and the reset-based (supervised) protocol: accuracy, robustness, EAO.

Regions are rows of 8 values `x1,y1,...,x4,y4` (polygons, 0-based) or 4 values `xywh`.
A VOT trajectory is a list with one entry per frame, as in VOT result files: a 4-tuple box,
or a 1-tuple code: `(1,)` initialisation, `(2,)` failure, `(0,)` skipped after a failure.
"""
import numpy as np

VOT_SKIP, VOT_INIT, VOT_FAILURE = 0, 1, 2
VOT2018_EAO_INTERVAL = (100, 356)


def _as_polygon(region) -> np.ndarray:
    r = np.asarray(region, dtype=np.float64).ravel()
    if len(r) == 4:
        x, y, w, h = r
        r = np.array([x, y, x + w, y, x + w, y + h, x, y + h])
    if len(r) < 6 or len(r) % 2:
        raise ValueError(f'a region has 4 (xywh) or 2k >= 6 (polygon) values, got {len(r)}')
    return r.reshape(-1, 2)


def polygon_area(points) -> float:
    """Shoelace area |Σ (x_i y_{i+1} − x_{i+1} y_i)| / 2 of an (K, 2) vertex array."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2.0)


def _signed_area(points):
    x, y = points[:, 0], points[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2.0


def _is_convex(points) -> bool:
    edges = np.roll(points, -1, axis=0) - points
    cross = edges[:, 0] * np.roll(edges[:, 1], -1) - edges[:, 1] * np.roll(edges[:, 0], -1)
    return bool(np.all(cross >= -1e-9) or np.all(cross <= 1e-9))


def _cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def clip_polygon(subject, clip) -> np.ndarray:
    """Sutherland–Hodgman: the part of polygon `subject` inside the convex polygon `clip`."""
    if _signed_area(clip) < 0:
        clip = clip[::-1]
    output = [tuple(p) for p in subject]
    for a, b in zip(clip, np.roll(clip, -1, axis=0)):
        points, output = output, []
        for s, e in zip(points[-1:] + points[:-1], points):
            s_side, e_side = _cross(a, b, s), _cross(a, b, e)
            if (s_side >= 0) != (e_side >= 0):
                u = s_side / (s_side - e_side)
                output.append((s[0] + u * (e[0] - s[0]), s[1] + u * (e[1] - s[1])))
            if e_side >= 0:
                output.append(e)
    return np.asarray(output, dtype=np.float64).reshape(-1, 2)


def region_overlap(pred, gt, bound=None) -> float:
    """IoU of two regions (polygons or `xywh`): |P ∩ G| / (|P| + |G| − |P ∩ G|).

    The VOT toolkit's region overlap (`vot.region.calculate_overlap`, pysot `vot_overlap`)
    and got10k `poly_iou`. With `bound` = (W, H) both regions are first cut to the image
    [0, W] x [0, H], as those toolkits do. One of the two must be convex (VOT rotated
    rectangles and boxes are). A NaN in `gt` gives NaN, a NaN or empty `pred` gives 0.
    """
    g, p = _as_polygon(gt), _as_polygon(pred)
    if not np.isfinite(g).all():
        return float('nan')
    if not np.isfinite(p).all():
        return 0.0
    if bound is not None:
        frame = _as_polygon((0.0, 0.0, bound[0], bound[1]))
        g, p = clip_polygon(g, frame), clip_polygon(p, frame)
    area_g, area_p = polygon_area(g), polygon_area(p)
    if area_g <= 0 or area_p <= 0:
        return 0.0
    if _is_convex(p):
        inter = polygon_area(clip_polygon(g, p))
    elif _is_convex(g):
        inter = polygon_area(clip_polygon(p, g))
    else:
        raise ValueError('region_overlap needs one convex region')
    return float(np.clip(inter / (area_g + area_p - inter), 0.0, 1.0))


def poly_iou(pred, gt, bound=None) -> np.ndarray:
    """Row-wise `region_overlap` of two (N, 4) or (N, 8) arrays; (N,) IoU."""
    return np.array([region_overlap(p, g, bound) for p, g in zip(pred, gt)], dtype=np.float64)


def vot_failures(trajectory) -> list:
    """Frame indices marked as failures (code 2) in a VOT trajectory."""
    return [i for i, entry in enumerate(trajectory) if len(entry) == 1 and entry[0] == VOT_FAILURE]


def vot_overlaps(trajectory, gt_regions, bound=None, burnin=0) -> np.ndarray:
    """Per-frame overlap of a reset-protocol trajectory; NaN where it does not count.

    NaN for code frames (init, failure, skipped) and for the `burnin` frames starting at
    every initialisation — pysot `calculate_accuracy(burnin=...)`, VOT toolkit
    `compute_accuracy(burnin=10)`.
    """
    if len(trajectory) != len(gt_regions):
        raise ValueError(f'trajectory has {len(trajectory)} frames, gt has {len(gt_regions)}')
    ignored = np.zeros(len(trajectory), dtype=bool)
    for i, entry in enumerate(trajectory):
        if len(entry) == 1:
            ignored[i] = True
            if entry[0] == VOT_INIT:
                ignored[i:i + burnin] = True
    return np.array([np.nan if skip else region_overlap(entry, gt, bound)
                     for entry, gt, skip in zip(trajectory, gt_regions, ignored)])


def vot_accuracy(overlaps) -> float:
    """Accuracy A = mean of the counted overlaps (NaN-free frames) over all given runs.

    Pass the concatenated `vot_overlaps(..., burnin=10)` of every sequence: frame-weighted,
    as pysot `AccuracyRobustnessBenchmark.show_result`.
    """
    values = np.concatenate([np.asarray(o, dtype=np.float64).ravel() for o in overlaps])
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float('nan')


def vot_robustness(failures, frames) -> float:
    """Robustness R = 100 · failures / frames, failures per 100 frames (pysot's VOT 'R')."""
    return 100.0 * failures / frames if frames else float('nan')


def eao_fragments(overlaps, failures, skip=5) -> list:
    """Split one reset run into fragments, one per (re)initialisation.

    A fragment starts at frame 0 or at failure + `skip`; it ends at its failure (its values
    from the failure on become 0 and it is padded with zeros) or at the sequence end
    (padded with NaN: its length is unknown beyond). NaN overlaps inside count as 0.
    Returns a list of (values, failed) pairs (VOT2015+ EAO, pysot `EAOBenchmark`).
    """
    overlaps = np.nan_to_num(np.asarray(overlaps, dtype=np.float64), nan=0.0)
    fragments, start = [], 0
    for failure in sorted(failures):
        if failure < start:
            continue
        values = overlaps[start:].copy()
        values[failure - start:] = 0.0
        fragments.append((values[:failure - start + 1], True))
        start = failure + skip
        if start >= len(overlaps):
            return fragments
    fragments.append((overlaps[start:], False))
    return fragments


def expected_overlap_curve(fragments, max_len) -> np.ndarray:
    """Φ(Ns) for Ns = 1 .. `max_len` (pass the longest sequence's length, as pysot does).

    Φ(Ns) is the mean over fragments of their mean overlap on frames 1 .. Ns − 1 (the
    initialisation frame is left out). A fragment counts for Ns when it failed (it is zero
    padded to `max_len`) or is at least Ns frames long. Φ(1) = 1; NaN where none counts.
    """
    table = np.full((len(fragments), max_len), np.nan)
    for row, (values, failed) in enumerate(fragments):
        if failed:
            table[row] = 0.0
        table[row, :len(values)] = values[:max_len]
    curve = np.full(max_len + 1, np.nan)
    curve[1] = 1.0
    for length in range(2, max_len + 1):
        rows = ~np.isnan(table[:, length - 1])
        if rows.any():
            curve[length] = float(np.mean(table[rows, 1:length].mean(axis=1)))
    return curve[1:]


def expected_average_overlap(fragments, max_len, interval=VOT2018_EAO_INTERVAL) -> float:
    """EAO = mean of Φ(Ns) over Ns in [low, high] where Φ is defined (pysot `EAOBenchmark`;
    VOT2017/2018 interval [100, 356], VOT2016 [108, 371]). See `expected_overlap_curve`."""
    curve = expected_overlap_curve(fragments, max_len)
    low, high = interval
    window = curve[max(low, 1) - 1:high]
    window = window[~np.isnan(window)]
    return float(window.mean()) if len(window) else float('nan')
