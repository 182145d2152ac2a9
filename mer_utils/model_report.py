"""What notebooks 04-06 show after training: per-split scores, the paper's numbers, learning curves.

The three training notebooks call these same functions, so they stay a few
lines each and show their results the same way.
"""

import numpy as np
import pandas as pd

from .catalogue import model_info, validate_model_name
from .metrics import MULTICLASS_SCORES, SCORES
from .results import collect_histories

#: Counts of the per-split table: integers, without mean and std rows.
COUNT_COLUMNS = ("n_train", "n_val", "epochs_run", "best_epoch")
#: Columns of the per-split table, in display order; those a run has (``f1`` for two classes only).
TABLE_COLUMNS = (*COUNT_COLUMNS, *(s for s in dict.fromkeys(SCORES + MULTICLASS_SCORES) if s != "n"), "wall_s")


def model_names(modality, variants):
    """The catalogue names of a notebook's models: ``("audio", ["cnn", "rnn"])`` -> ``["audio_cnn", "audio_rnn"]``.

    Raises
    ------
    ValueError
        When ``variants`` is empty or names a model the catalogue does not train.
    """
    if not variants:
        raise ValueError(f"no {modality} model to train: list at least one")
    names = list(dict.fromkeys(f"{modality}_{variant}" for variant in variants))  # each once, in order
    for name in names:
        validate_model_name(name)
    return names


def scores_table(summary):
    """Per-split scores of one model, with mean and standard deviation rows.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`mer_utils.training.train_on_splits`.

    Returns
    -------
    pandas.DataFrame
        Index: split numbers, then ``mean`` and ``std`` (sample std, ``ddof=1``)
        of the scores and times; scores rounded to 4 decimals for display.
        The counts (:data:`COUNT_COLUMNS`) stay integers, left empty (``<NA>``)
        in the mean and std rows. Columns: those of :data:`TABLE_COLUMNS` the
        summary has (no ``f1`` with more than two classes).
    """
    columns = [c for c in TABLE_COLUMNS if c in summary.columns]
    table = summary.set_index("split").loc[:, columns]
    measures = [c for c in columns if c not in COUNT_COLUMNS]
    table = pd.concat([table, table[measures].agg(["mean", "std"])])
    return table.round(4).astype({c: "Int64" for c in COUNT_COLUMNS if c in columns})


def paper_comparison(summary):
    """Mean validation accuracy over the splits beside the paper's Table 1 value, one row per model.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`mer_utils.training.train_on_splits`, or several of them
        concatenated (a notebook that trains more than one model).

    Returns
    -------
    pandas.DataFrame
        One row per model, in order of appearance: ``model, runs,
        accuracy_mean, accuracy_std, paper_accuracy`` (NaN for a model the
        paper does not report; the std is NaN with a single run).
    """
    rows = []
    for name, runs in summary.groupby("model", sort=False):
        accuracy = runs["accuracy"]
        rows.append({"model": name, "runs": len(accuracy), "accuracy_mean": accuracy.mean(),
                     "accuracy_std": accuracy.std() if len(accuracy) > 1 else np.nan,
                     "paper_accuracy": model_info(name).paper_accuracy})
    return pd.DataFrame(rows)


def plot_training_curves(layout, model_name):
    """Loss and accuracy per epoch of every split: training dashed, validation solid.

    Parameters
    ----------
    layout : RunLayout
    model_name : str

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (loss, accuracy); one colour per split; a dot marks the
        epoch with the lowest validation loss (the one kept by early stopping).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    histories = collect_histories(layout)
    histories = histories[histories["model"] == model_name]
    if histories.empty:
        raise ValueError(f"no training history for {model_name} in {layout.run_dir}: train it first")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = plt.get_cmap("tab10")
    for i, (split, run) in enumerate(histories.groupby("split")):
        best = run.loc[run["val_loss"].idxmin()]
        for ax, metric in zip(axes, ("loss", "accuracy")):
            ax.plot(run["epoch"], run[metric], "--", color=colours(i), alpha=0.7)
            ax.plot(run["epoch"], run[f"val_{metric}"], "-", color=colours(i), label=f"split {split}")
            ax.plot(best["epoch"], best[f"val_{metric}"], "o", color=colours(i))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} (dashed: training, solid: validation)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(fontsize="small")
    fig.suptitle(f"{model_name}: learning curves per split")
    fig.tight_layout()
    return fig
