"""`siam-track train --config config/train/<name>.yaml [--resume] [--out DIR]`; the same
under `torchrun --nproc_per_node N -m siam_tracker_ros.cli.train_cmd ...` (docs/training.md)."""
import sys

from siam_tracker_ros.cli.common import USER_ERRORS, fail
from siam_tracker_ros.training.config import load_train_config


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser('train', help='train a tracker network from a config file')
    parser.add_argument('--config', required=True, help='config/train/<name>.yaml')
    parser.add_argument('--resume', action='store_true',
                        help='continue from <out>/last.pt after its last finished epoch')
    parser.add_argument('--out', default=None, help='run folder (default: <out_dir>/<name>)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.set_defaults(func=run)


def run(args) -> int:
    """Validate the config, the data paths and (--resume) the checkpoint, then train; 2 on a
    config, data or checkpoint error.

    Under torchrun every process runs this; rank 0 reports.
    """
    from siam_tracker_ros.training import distributed
    from siam_tracker_ros.training.trainer import Trainer
    try:
        trainer = Trainer(load_train_config(args.config), args.out,
                          progress=not args.no_progress)
        best = trainer.run(resume=args.resume)   # a bad last.pt: nothing written
    except USER_ERRORS as err:
        return fail(str(err))
    finally:
        distributed.stop()
    if trainer.world.is_main:
        report(trainer, best)
    return 0


def report(trainer, best: float) -> None:
    """The run's outcome and the unreadable inputs it skipped."""
    print(f'done: best score {best:.4f}; outputs in {trainer.out}')
    if trainer.skipped.count:
        print(f'skipped {trainer.skipped.count} unreadable inputs, e.g. '
              f'{trainer.skipped.reasons[:3]}', file=sys.stderr)


def main(argv=None) -> int:
    """`python -m siam_tracker_ros.cli.train_cmd --config ...` (same as `siam-track train`)."""
    import argparse
    parser = argparse.ArgumentParser(prog='siam-track')
    add_parser(parser.add_subparsers(dest='command', required=True))
    args = parser.parse_args(['train'] + list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
