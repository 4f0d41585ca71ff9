"""The debug image: the tracked box and the target state drawn on the frame (no ROS import)."""
import cv2
import numpy as np

from siam_tracker_ros.status import LOST, STATE_NAMES, TRACKING

COLOURS = {TRACKING: (0, 220, 0), LOST: (230, 40, 40)}  # RGB


def draw_result(image: np.ndarray, box, state: int, score: float, label: str = '',
                row: int = 0) -> np.ndarray:
    """A copy of RGB `image` with `box` (0-based xywh) and `STATE score label` drawn (text
    line `row`: one per target)."""
    out = np.ascontiguousarray(image).copy()
    colour = COLOURS.get(state, (200, 200, 200))
    if box is not None:
        x, y, w, h = (float(v) for v in box)
        top_left = (int(round(x)), int(round(y)))
        bottom_right = (int(round(x + w - 1)), int(round(y + h - 1)))
        cv2.rectangle(out, top_left, bottom_right, colour, 2)
    text = f'{STATE_NAMES.get(state, state)} {score:.2f} {label}'.strip()
    origin = (8, 24 + 26 * row)
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, 2, cv2.LINE_AA)
    return out
