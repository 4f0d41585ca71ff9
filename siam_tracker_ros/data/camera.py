"""A moving camera for synthetic clips: pan, hand shake and zoom, plus its motion blur.

World coordinates are the frame coordinates of frame 0 without shake. A world point p is seen
at  zoom(t)·(p − start − velocity·t) + canvas centre + shake(t)  in frame t, so the background
and everything placed in the world move with the camera; objects move on their own in the world.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from siam_tracker_ros.data.augment import line_kernel


@dataclass(frozen=True)
class Camera:
    """Pan (`velocity`, world px per frame), zoom (`zoom_rate`, log scale per frame), shake
    (sinusoids: `shake_amp` (k, 2) px, `shake_freq` (k,) rad per frame, `shake_phase` (k, 2))
    and `exposure` (the share of a frame's motion smeared into motion blur)."""

    canvas: tuple
    velocity: np.ndarray
    zoom_rate: float
    shake_amp: np.ndarray
    shake_freq: np.ndarray
    shake_phase: np.ndarray
    exposure: float

    @property
    def centre(self) -> np.ndarray:
        return np.array([(self.canvas[0] - 1) / 2, (self.canvas[1] - 1) / 2])

    def zoom(self, t: float) -> float:
        return float(np.exp(self.zoom_rate * t))

    def shake(self, t: float) -> np.ndarray:
        return (self.shake_amp * np.sin(self.shake_freq[:, None] * t + self.shake_phase)).sum(0)

    def project(self, point, t: float) -> np.ndarray:
        """Frame position at time t of the world point `point`."""
        return (self.zoom(t) * (np.asarray(point, np.float64) - self.centre - self.velocity * t)
                + self.centre + self.shake(t))

    def unproject(self, point, t: float) -> np.ndarray:
        """World point seen at frame position `point` at time t."""
        return ((np.asarray(point, np.float64) - self.centre - self.shake(t)) / self.zoom(t)
                + self.centre + self.velocity * t)

    def background_shift(self, t0: float, t1: float) -> np.ndarray:
        """Frame motion, t0 → t1, of the background point at the frame centre at t0."""
        return self.project(self.unproject(self.centre, t0), t1) - self.centre

    def frame_velocity(self, world_path, t: float) -> np.ndarray:
        """Frame velocity (px per frame) at t of a world path (a function of t)."""
        return self.project(world_path(t + 0.5), t + 0.5) - self.project(world_path(t - 0.5),
                                                                          t - 0.5)

    def background_velocity(self, t: float) -> np.ndarray:
        """Frame velocity at t of the background point at the frame centre at t = 0."""
        return self.frame_velocity(lambda _: self.centre, t)

    def blur_length(self, velocity) -> float:
        """Smear (px) of something moving at `velocity` in the frame; 0 below 2 px."""
        length = float(np.hypot(*velocity)) * self.exposure
        return length if length >= 2 else 0.0

    def blur_kernel(self, velocity):
        """Motion-blur kernel for a frame velocity, or None below 2 px of smear."""
        length = self.blur_length(velocity)
        if not length:
            return None
        angle = np.degrees(np.arctan2(-velocity[1], velocity[0]))   # y down → OpenCV angle
        return line_kernel(int(round(length)) // 2 * 2 + 1, float(angle))

    def view(self, background: np.ndarray, t: float) -> np.ndarray:
        """The background (world origin at its centre − canvas centre) as seen at time t."""
        h, w = background.shape[:2]
        offset = np.array([(w - 1) / 2, (h - 1) / 2]) - self.centre
        scale = self.zoom(t)
        shift = self.centre + self.shake(t) - scale * (offset + self.centre + self.velocity * t)
        matrix = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]])
        frame = cv2.warpAffine(background, matrix, self.canvas, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        kernel = self.blur_kernel(self.background_velocity(t))
        return frame if kernel is None else cv2.filter2D(frame, -1, kernel)


def random_camera(rng, canvas, pan_speed: float, shake: float, zoom: float, exposure: float,
                  follow=None) -> Camera:
    """A random camera; `follow` (a world velocity) makes it pan with a moving target."""
    angle = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.cos(angle), np.sin(angle)]) * rng.uniform(0, pan_speed)
    if follow is not None:
        velocity = np.asarray(follow, np.float64).copy()
    amp = rng.uniform(0, 1, (3, 2))
    amp *= rng.uniform(0, shake) / max(float(amp.sum(0).max()), 1e-6)
    return Camera(tuple(canvas), velocity, float(rng.uniform(-zoom, zoom)), amp,
                  rng.uniform(0.3, 1.5, 3), rng.uniform(0, 2 * np.pi, (3, 2)),
                  float(rng.uniform(0, exposure)))
