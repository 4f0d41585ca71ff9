"""Fixtures of the core tests."""
import pytest


def replace_square(frame, center, side):
    """The frame with the side² square around `center` replaced by the same-sized patch half
    a frame away (the target is gone, the scene stays real)."""
    height, width = frame.shape[:2]
    half = int(side) // 2
    x0, y0 = max(int(center[0]) - half, 0), max(int(center[1]) - half, 0)
    x1, y1 = min(int(center[0]) + half, width), min(int(center[1]) + half, height)
    src_x = (x0 + width // 2) % max(width - (x1 - x0), 1)
    src_y = (y0 + height // 2) % max(height - (y1 - y0), 1)
    hidden = frame.copy()
    hidden[y0:y1, x0:x1] = frame[src_y:src_y + y1 - y0, src_x:src_x + x1 - x0]
    return hidden


@pytest.fixture(scope='session')
def hide_search_region():
    """`replace_square(frame, center, side)`: hide what is around `center`."""
    return replace_square
