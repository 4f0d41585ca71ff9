"""Test-time ablation of one trained siam_gam file: each module switched off in the trained
network, one-pass success AUC per sequence (docs/trackers/siam_gam.md, "Trained").

    python -m siam_tracker_ros.trackers.siam_gam_ablation \\
        --weights siam_tracker_ros/weights/siam_gam_mobilenetv2.pt \\
        --root ../shared/data/sot_val --rows full,A,B,no_se,no_gam,multi_size

Rows: `full` (as shipped), `A` / `B` (one subnet's response alone), `no_se` / `no_gam` (the
module bypassed: its input passes unchanged), `multi_size` (the paper's three test sizes).
Rows trained without a module are separate runs (`tracker_settings` in a training config).
Prints a Markdown table (sequences × rows); CPU, `--threads` per run.
"""
import argparse
import time

import torch

from siam_tracker_ros.build import build_tracker
from siam_tracker_ros.ops.multisize import PAPER_TEST_SIZES
from siam_tracker_ros.training.devtable import markdown
from siam_tracker_ros.training.validate import evaluate, load_sequences


def only_a(net):
    net.subnet_b = None


def only_b(net):
    net.subnet_a = None


def without_se(net):
    net.subnet_b.backbone.se = None


def without_gam(net):
    net.subnet_a.backbone.gam = None


# row -> (config settings, change to the loaded network or None)
ROWS = {
    'full': ({}, None),
    'A': ({}, only_a),
    'B': ({}, only_b),
    'no_se': ({}, without_se),
    'no_gam': ({}, without_gam),
    'multi_size': ({'test_sizes': [v for pair in PAPER_TEST_SIZES for v in pair]}, None),
}


def row_tracker(weights, row: str):
    """The siam_gam tracker of `weights` with the row's change applied."""
    settings, change = ROWS[row]
    tracker = build_tracker('siam_gam', weights=weights, **settings)
    if change is not None:
        change(tracker.net)
    return tracker


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', required=True)
    parser.add_argument('--root', required=True, help='OTB-layout folder, e.g. ../shared/data/sot_val')
    parser.add_argument('--rows', default='full,A,B,no_se,no_gam',
                        help=f'comma-separated, of: {", ".join(ROWS)}')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    rows = args.rows.split(',')
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f'unknown rows {unknown}; known: {", ".join(ROWS)}')
    torch.set_num_threads(args.threads)
    sequences = load_sequences(args.root)
    results = {}
    for row in rows:
        start = time.time()
        results[row] = evaluate(row_tracker(args.weights, row), sequences)
        print(f'{row}: mean AUC {results[row]["mean"]:.4f} ({time.time() - start:.0f} s)',
              flush=True)
    print(markdown(results))


if __name__ == '__main__':
    main()
