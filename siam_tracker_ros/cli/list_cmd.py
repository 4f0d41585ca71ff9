"""`siam-track list`: registered trackers, one per line, with weight availability."""
from siam_tracker_ros.models.weights import default_weights
from siam_tracker_ros.registry import get_entry, tracker_names


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser('list', help='list the registered trackers')
    parser.set_defaults(func=run)


def run(args) -> int:
    for name in tracker_names():
        weights = default_weights(name)
        status = f'weights: {weights.name}' if weights else 'weights: none shipped'
        print(f'{name:<16} {status:<40} {get_entry(name).summary}')
    return 0
