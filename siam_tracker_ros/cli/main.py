"""`siam-track`: one command-line tool with subcommands (list, run, bench, eval, train, export,
calibrate-lost)."""
import argparse
import sys
import warnings

from siam_tracker_ros.cli import (bench_cmd, calibrate_cmd, eval_cmd, export_cmd, list_cmd,
                                  run_cmd, train_cmd)
from siam_tracker_ros.cli.common import show_warning


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='siam-track', description='Siamese single-object trackers: run, evaluate, train.')
    subparsers = parser.add_subparsers(dest='command', required=True)
    for module in (list_cmd, run_cmd, eval_cmd, train_cmd, bench_cmd, export_cmd,
                   calibrate_cmd):
        module.add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning   # one line each, no source line
            return args.func(args)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
