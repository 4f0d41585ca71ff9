"""Exported ONNX graphs (onnxruntime) vs torch fused fp32: max abs difference of the response
maps on the first frames of every dev sequence, for each shipped siamfc weights file.

    python benchmarks/onnx_check.py [--frames 10] [--threads 1]
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.cli.export_cmd import check_frames, export_tracker, map_differences
from siam_tracker_ros.models.weights import PACKAGE_WEIGHTS_DIR

SOT = Path(__file__).resolve().parents[1].parent / 'shared/data/sot'
WEIGHTS = ('siamfc_mobilenetv2.pt', 'siamfc_alexnet.pt')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=10, help='tracked frames per sequence')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print('| weights | sequence | frames | max abs difference | max abs map |')
    print('|---|---|---|---|---|')
    for weights in WEIGHTS:
        tracker = build_tracker('siamfc', weights=PACKAGE_WEIGHTS_DIR / weights)
        with tempfile.TemporaryDirectory() as out:
            export_tracker(tracker, out)
            for name in (SOT / 'list.txt').read_text().split():
                frames, box = check_frames(SOT / name, args.frames)
                differences = map_differences(tracker, out, frames, box)
                scale = np.abs(tracker.runner().respond(
                    tracker.state.kernel, tracker.search_crops(frames[-1])).numpy()).max()
                print(f'| {weights} | {name} | {len(differences)} | {differences.max():.1e} '
                      f'| {scale:.1f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
