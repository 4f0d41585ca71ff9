"""Box <-> vision_msgs mapping as pure functions, no ROS import (spec trackers.md §1.8).

A tracker box is 0-based `xywh` (top-left pixel, size). vision_msgs 4.x `BoundingBox2D` holds
the centre in OpenCV pixel-centre coordinates, `center.position.x = x + (w - 1) / 2`, and
`size_x = w`, `size_y = h`; `center.theta` is always 0 here. The node fills and reads messages
with these numbers only, so the mapping round-trips in unit tests without ROS.
"""
import math

from siam_tracker_ros.ops.boxes import cxcywh_to_xywh, xywh_to_cxcywh


def box_to_bbox_fields(box) -> dict:
    """0-based `xywh` -> BoundingBox2D field values.

    Args:
        box: (x, y, w, h) in pixels.

    Returns:
        dict with keys 'center_x', 'center_y', 'theta', 'size_x', 'size_y' (floats).
    """
    cx, cy, w, h = xywh_to_cxcywh(box)
    return {'center_x': cx, 'center_y': cy, 'theta': 0.0, 'size_x': w, 'size_y': h}


def bbox_fields_to_box(center_x, center_y, size_x, size_y) -> tuple:
    """BoundingBox2D field values -> 0-based `xywh` (x = center_x - (size_x - 1) / 2)."""
    return cxcywh_to_xywh((center_x, center_y, size_x, size_y))


def stamp_to_ns(sec, nanosec) -> int:
    """A ROS time (sec, nanosec) as integer nanoseconds."""
    return int(sec) * 1_000_000_000 + int(nanosec)


def ns_to_stamp(ns) -> tuple:
    """Integer nanoseconds -> (sec, nanosec) for a builtin_interfaces/Time."""
    return int(ns) // 1_000_000_000, int(ns) % 1_000_000_000


def box_is_finite(box) -> bool:
    """True when all four box values are finite numbers."""
    return all(math.isfinite(float(v)) for v in box)
