"""Frame sources for `siam-track run`: an image folder (OTB layout or flat) or a video file."""
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


class FrameSourceError(ValueError):
    """An input that is not a readable image folder or video."""


class FrameSource:
    """Iterates RGB uint8 frames from a folder of images or a video file."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FrameSourceError(f'input not found: {self.path}')
        self.files = image_files(self.path) if self.path.is_dir() else None
        if self.files is None:
            capture = cv2.VideoCapture(str(self.path))
            ok = capture.isOpened() and capture.read()[0]
            self.fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
            self.count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
            capture.release()
            if not ok:
                raise FrameSourceError(f'cannot read video: {self.path}')
        else:
            self.fps, self.count = 30.0, len(self.files)

    def __len__(self):
        return self.count or 0

    def __iter__(self):
        if self.files is not None:
            for name in self.files:
                frame = cv2.imread(str(name), cv2.IMREAD_COLOR)
                if frame is None:
                    raise FrameSourceError(f'cannot decode image: {name}')
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            return
        capture = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()


def image_files(folder: Path) -> list:
    """Sorted image files of `folder`, or of `folder/img` (OTB layout)."""
    if (folder / 'img').is_dir():
        folder = folder / 'img'
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FrameSourceError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in {folder}')
    return files


def first_groundtruth_box(folder) -> tuple:
    """First box of `folder/groundtruth_rect.txt` (OTB: 1-based x,y,w,h) as 0-based xywh."""
    path = Path(folder) / 'groundtruth_rect.txt'
    if not path.is_file():
        raise FrameSourceError(f'--init not given and no groundtruth_rect.txt in {folder}')
    line = path.read_text().splitlines()[0] if path.stat().st_size else ''
    values = line.replace('\t', ',').replace(' ', ',').split(',')
    try:
        x, y, w, h = (float(v) for v in values if v)
    except ValueError:
        raise FrameSourceError(f'{path}:1: expected x,y,w,h, got {line!r}') from None
    return (x - 1, y - 1, w, h)


def draw_box(frame_rgb: np.ndarray, box, label: str, color=(0, 255, 0)) -> np.ndarray:
    """A BGR copy of the frame with the box and a label drawn, for videos and debug images."""
    image = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), color, 2)
    cv2.putText(image, label, (max(x, 0), max(y - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                color, 1, cv2.LINE_AA)
    return image
