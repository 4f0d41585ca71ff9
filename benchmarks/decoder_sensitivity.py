"""How far whole runs drift when the fp32 weights are perturbed by a relative `eps`.

Shows why bf16 whole runs cannot stay within 1 px of fp32 on every dev sequence: a perturbation
smaller than bf16 rounding (2^-9) already flips near-tie argmax decisions (docs/trackers/siamfc.md).

    python benchmarks/decoder_sensitivity.py --eps 1e-4,1e-3 [--tracker NAME] [--weights FILE]
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.config import default_tracker
from siam_tracker_ros.frames import FrameSource, first_groundtruth_box
from siam_tracker_ros.models.weights import resolve_weights

DEV_SET = Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'sot'


def run_boxes(name, weights, sequence, eps) -> np.ndarray:
    """Boxes of one whole run with every parameter multiplied by (1 + eps * N(0, 1))."""
    tracker = build_tracker(name, weights=weights, backend='fused', precision='fp32')
    noise = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in tracker.net.parameters():
            parameter.mul_(1 + eps * torch.randn(parameter.shape, generator=noise))
    frames = iter(FrameSource(sequence))
    tracker.init(next(frames), first_groundtruth_box(sequence))
    return np.array([tracker.track(frame).box for frame in frames])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--eps', default='1e-4,1e-3')
    parser.add_argument('--tracker', default=default_tracker())
    parser.add_argument('--weights', default='default')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weights = resolve_weights(args.weights, args.tracker)
    print(f'max |box difference| px of a whole run vs unperturbed fp32, weights: {weights}')
    epsilons = [float(e) for e in args.eps.split(',')]
    print('| sequence | ' + ' | '.join(f'eps {e:g}' for e in epsilons) + ' |')
    print('|---|' + '---|' * len(epsilons))
    for name in (DEV_SET / 'list.txt').read_text().split():
        reference = run_boxes(args.tracker, weights, DEV_SET / name, 0.0)
        cells = [np.abs(run_boxes(args.tracker, weights, DEV_SET / name, e) - reference).max()
                 for e in epsilons]
        print(f'| {name} | ' + ' | '.join(f'{c:.2f}' for c in cells) + ' |', flush=True)


if __name__ == '__main__':
    main()
