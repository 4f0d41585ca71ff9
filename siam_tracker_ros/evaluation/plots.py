"""Success and precision plots (PNG) in the OTB / GOT-10k style."""
from pathlib import Path

import numpy as np

from siam_tracker_ros.evaluation import metrics as m

_STYLES = ('-', '--', '-.', ':')


def _figure():
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    return plt, *plt.subplots(figsize=(6, 4.5), dpi=120)


def _plot(path, title, xlabel, ylabel, xs, curves, xlim):
    """curves: list of (label, values, score), drawn best score first."""
    plt, fig, ax = _figure()
    for i, (label, values, _) in enumerate(sorted(curves, key=lambda c: -np.nan_to_num(c[2]))):
        ax.plot(xs, values, _STYLES[(i // 10) % len(_STYLES)], linewidth=2, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=(0, 1.02))
    ax.grid(True, alpha=0.4)
    ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_results(results, out_dir, dataset_name) -> list:
    """Write the protocol's plots for one dataset as `<dataset>_<protocol>_<kind>.png`;
    returns the PNG paths."""
    protocol = results[0]['protocol']
    stem = Path(out_dir) / f'{dataset_name}_{protocol}'
    if protocol == 'ope':
        success = [(f'{r["tracker"]} [{r["overall"]["auc"]:.3f}]', r['curves']['success'],
                    r['overall']['auc']) for r in results]
        precision = [(f'{r["tracker"]} [{r["overall"]["p20"]:.3f}]', r['curves']['precision'],
                      r['overall']['p20']) for r in results]
        return [
            _plot(f'{stem}_success.png',
                  f'Success plots of OPE on {dataset_name}', 'Overlap threshold',
                  'Success rate', m.OTB_IOU_THRESHOLDS, success, (0, 1)),
            _plot(f'{stem}_precision.png',
                  f'Precision plots of OPE on {dataset_name}', 'Location error threshold (px)',
                  'Precision', m.OTB_PIXEL_THRESHOLDS, precision, (0, 50))]
    if protocol == 'got10k':
        success = [(f'{r["tracker"]} [{r["overall"]["ao"]:.3f}]', r['curves']['success'],
                    r['overall']['ao']) for r in results]
        return [_plot(f'{stem}_success.png',
                      f'Success plots on {dataset_name} (GOT-10k)', 'Overlap threshold',
                      'Success rate', m.GOT10K_IOU_THRESHOLDS, success, (0, 1))]
    curves = [(f'{r["tracker"]} [EAO {r["overall"]["eao"]:.3f}]',
               r['curves']['expected_overlap'], r['overall']['eao']) for r in results]
    length = max(len(c[1]) for c in curves)
    curves = [(label, np.pad(np.asarray(v, dtype=float), (0, length - len(v)),
                             constant_values=np.nan), s) for label, v, s in curves]
    return [_plot(f'{stem}_expected_overlap.png',
                  f'Expected overlap on {dataset_name} (VOT reset)', 'Sequence length (frames)',
                  'Expected average overlap', np.arange(1, length + 1), curves, (1, length))]
