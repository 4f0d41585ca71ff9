"""`siam-track eval`: run trackers on benchmark datasets and write a report."""
import re
import shlex
import shutil
from pathlib import Path

from siam_tracker_ros.cli.common import (USER_ERRORS, check_output_file, check_output_folder,
                                         fail, positive_int, weights_for, write_text_file)
from siam_tracker_ros.datasets.layout import layout_names
from siam_tracker_ros.evaluation.benchmark import BenchmarkOptions, run_benchmark
from siam_tracker_ros.evaluation.results import PROTOCOLS
from siam_tracker_ros.registry import tracker_names


def add_parser(subparsers):
    """Add the `eval` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        'eval', help='evaluate trackers on benchmark datasets',
        description='Run trackers (registry names or OpenCV baselines csrt, kcf, mil, mosse) '
                    'over datasets (layout auto-detected) and write result files, plots, '
                    'report.md and metrics.json into --out. Completed sequences are reused.')
    parser.add_argument('--dataset', required=True, metavar='PATH[,PATH...]',
                        help='dataset folder(s): OTB-style, UAV123, LaSOT, GOT-10k, VOT, '
                             'TrackingNet')
    parser.add_argument('--tracker', required=True, metavar='NAME[,NAME...]')
    parser.add_argument('--weights', default='default', metavar='FILE',
                        help="weights for registry trackers: 'default' (the shipped ones), "
                             "'none' (random init) or a file")
    parser.add_argument('--out', required=True, metavar='DIR')
    parser.add_argument('--protocol', metavar='|'.join(PROTOCOLS), default='',
                        help='one or more, comma-separated; default: the layout\'s own '
                             '(vot for VOT, got10k for GOT-10k, else ope)')
    parser.add_argument('--layout', choices=layout_names(), help='skip auto-detection')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--workers', type=positive_int, default=2,
                        help='parallel processes (default 2)')
    parser.add_argument('--max-sequences', type=positive_int, metavar='N',
                        help='only the first N sequences of each dataset')
    parser.add_argument('--report', metavar='FILE',
                        help='also write the markdown report here (e.g. docs/devset.md)')
    parser.add_argument('--title', default='Tracking benchmark report',
                        help='report title')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.set_defaults(func=run)
    return parser


def _split(value) -> list:
    return [v.strip() for v in value.split(',') if v.strip()]


def _command(args) -> str:
    """The command line that reproduces this run (for the report)."""
    words = ['siam-track', 'eval', '--dataset', args.dataset, '--tracker', args.tracker,
             '--out', args.out]
    for flag in ('protocol', 'layout', 'weights', 'max_sequences', 'report'):
        if getattr(args, flag) and not (flag == 'weights' and args.weights == 'default'):
            words += [f'--{flag.replace("_", "-")}', str(getattr(args, flag))]
    if args.title != 'Tracking benchmark report':
        words += ['--title', args.title]
    return ' '.join(shlex.quote(w) for w in words)


def run(args) -> int:
    """Run `siam-track eval`; returns the exit code (2 for bad input)."""
    options = BenchmarkOptions(out_dir=args.out, protocols=tuple(_split(args.protocol)),
                               layout=args.layout, title=args.title,
                               weights=args.weights, device=args.device,
                               workers=args.workers, max_sequences=args.max_sequences,
                               progress=not args.no_progress)
    try:
        check_output_folder(args.out)
        if args.report:
            check_output_file(args.report)
        for name in dict.fromkeys(_split(args.tracker)):
            if name in tracker_names():   # warns when 'default' means random weights
                weights_for(args.weights, name)
        markdown = run_benchmark(_split(args.dataset), _split(args.tracker), options,
                                 _command(args))
        if args.report:
            _write_copy(markdown, args.out, args.report)
    except USER_ERRORS as error:
        return fail(str(error))
    print(markdown)
    return 0


def _write_copy(markdown, out_dir, path) -> None:
    """Write the report to `path`, its plots copied into `img/` beside it (runs/ is not kept)."""
    report = Path(path)
    images = report.parent / 'img'

    def copy_plot(match):
        images.mkdir(parents=True, exist_ok=True)
        name = f'{report.stem}_{match[2]}'
        shutil.copyfile(Path(out_dir) / match[2], images / name)
        return f'![{match[1]}](img/{name})'

    text = re.sub(r'^!\[([^\]]*)\]\(([^)/]+\.png)\)$', copy_plot, markdown, flags=re.MULTILINE)
    write_text_file(report, text)
