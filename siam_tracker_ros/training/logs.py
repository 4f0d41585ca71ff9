"""CSV logs and the loss-curve PNG."""
import csv
from pathlib import Path

EPOCH_FIELDS = ('epoch', 'lr', 'train_loss', 'val_auc', 'pairs', 'skipped', 'seconds')


def append_csv(path, fields, row: dict) -> None:
    """Append `row` to a CSV file, writing the header when the file is new."""
    path = Path(path)
    new = not path.is_file()
    with path.open('a', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, '') for k in fields})


def read_csv(path) -> list:
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline='') as handle:
        return list(csv.DictReader(handle))


def plot_curves(out_dir) -> Path:
    """loss_curve.png: per-step loss (smoothed), epoch loss and validation AUC."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out_dir = Path(out_dir)
    steps = read_csv(out_dir / 'steps.csv')
    epochs = read_csv(out_dir / 'epochs.csv')
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    if steps:
        losses = [float(r['loss']) for r in steps]
        smooth = [sum(losses[max(0, i - 49):i + 1]) / len(losses[max(0, i - 49):i + 1])
                  for i in range(len(losses))]
        left.plot(losses, alpha=0.3, label='step')
        left.plot(smooth, label='mean of 50')
    left.set_xlabel('step')
    left.set_ylabel('balanced logistic loss')
    left.legend()
    if epochs:
        x = [int(r['epoch']) for r in epochs]
        right.plot(x, [float(r['train_loss']) for r in epochs], 'o-', label='train loss')
        aucs = [(e, float(r['val_auc'])) for e, r in zip(x, epochs)
                if r['val_auc'] not in ('', 'nan')]
        if aucs:
            twin = right.twinx()
            twin.plot(*zip(*aucs), 's-', color='tab:green', label='val AUC')
            twin.set_ylabel('val success AUC')
    right.set_xlabel('epoch')
    right.legend(loc='upper left')
    fig.tight_layout()
    path = out_dir / 'loss_curve.png'
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
