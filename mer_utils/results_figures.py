"""Notebook 07's figures: learning curves (the paper's Figure 2), confusion matrices, ROC curves, accuracies.

Each function takes the tables of :mod:`mer_utils.results` (``collect_*``,
``summary_table``) and returns a :class:`matplotlib.figure.Figure`;
:func:`mer_utils.notebook.save_figure` saves it into the run. The class
figures follow the run's classes: an N x N confusion matrix, and with more
than two classes one ROC curve per class against the rest.
"""

import logging

import numpy as np

from .catalogue import model_info
from .config import LABELS
from .outputs import probability_matrix

logger = logging.getLogger(__name__)


def _run_label(name, n_runs):
    info = model_info(name)
    return f"{info.modality}: {name} ({n_runs} run{'s' if n_runs != 1 else ''})"


def _require_models(frame, models, what):
    if not models:
        raise ValueError(f"no models to plot {what} of: has any model run (notebooks 04-06)?")
    missing = [m for m in models if m not in set(frame["model"])]
    if missing:
        raise ValueError(f"no {what} for models {missing}: run their notebooks first")


def plot_learning_curves(histories, models):
    """Figure 2: validation accuracy and loss per epoch, mean over splits with a ±1 std band.

    Parameters
    ----------
    histories : pandas.DataFrame
        From :func:`mer_utils.results.collect_histories`.
    models : sequence of str
        Typically the best model per modality.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (accuracy, loss). With early stopping, splits stop at
        different epochs: each epoch's mean is over the splits that reached
        it, and the curve is dotted from the last epoch that all splits reached.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    _require_models(histories, models, "training histories")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    any_tail = False
    for name in models:
        runs = histories[histories["model"] == name]
        by_epoch = runs.groupby("epoch")
        n_splits, splits_per_epoch = runs["split"].nunique(), by_epoch["split"].nunique()
        last_full_epoch = splits_per_epoch.index[splits_per_epoch == n_splits].max()
        for ax, column in zip(axes, ("val_accuracy", "val_loss")):
            mean, std = by_epoch[column].mean(), by_epoch[column].std().fillna(0.0)
            full, tail = mean[mean.index <= last_full_epoch], mean[mean.index >= last_full_epoch]
            line, = ax.plot(full.index, full, marker=".", label=_run_label(name, n_splits))
            if len(tail) > 1:
                ax.plot(tail.index, tail, marker=".", linestyle=":", color=line.get_color())
                any_tail = True
            ax.fill_between(mean.index, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    for ax, title in zip(axes, ("validation accuracy", "validation loss")):
        ax.set(xlabel="epoch", ylabel=title, title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if any_tail:
        axes[0].plot([], [], linestyle=":", color="grey", label="dotted: not all splits still training")
    axes[0].legend(fontsize="small")
    fig.suptitle("Best model per modality: mean over splits ± 1 std")
    fig.tight_layout()
    return fig


def plot_confusion_matrices(predictions, models, *, classes=LABELS):
    """Confusion matrices of validation predictions pooled over splits, one panel per model.

    Cells show the count and the share of the true class (rows sum to 100%).

    Parameters
    ----------
    predictions : pandas.DataFrame
        From :func:`mer_utils.results.collect_predictions`.
    models : sequence of str
    classes : sequence of str
        The run's classes in label-index order (:func:`mer_utils.results.run_classes`):
        an N x N matrix per model.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    _require_models(predictions, models, "predictions")
    classes = list(classes)
    side = max(3.8, 0.75 * len(classes) + 2.0)  # five classes need more room than two
    fig, axes = plt.subplots(1, len(models), figsize=(side * len(models), side - 0.2), squeeze=False)
    for ax, name in zip(axes[0], models):
        runs = predictions[predictions["model"] == name]
        counts = confusion_matrix(runs["label"], runs["predicted"], labels=range(len(classes)))
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        annot = np.array([[f"{c}\n{s:.0%}" for c, s in zip(cr, sr)] for cr, sr in zip(counts, shares)])
        sns.heatmap(shares, annot=annot, fmt="", cmap="Blues", vmin=0, vmax=1, cbar=False, square=True,
                    xticklabels=classes, yticklabels=classes, ax=ax)
        ax.set(xlabel="predicted", ylabel="true", title=_run_label(name, runs["split"].nunique()))
    fig.tight_layout()
    return fig


def plot_roc_curves(predictions, models, *, classes=LABELS):
    """ROC curves of validation predictions pooled over splits, one line per model.

    The legend, beside the plot, gives the pooled AUC (of all splits'
    predictions together, which mixes the models of different splits; the
    tables give the mean of the per-split AUCs). Baselines are drawn dashed.
    With more than two classes: :func:`plot_roc_curves_per_class`.

    Parameters
    ----------
    predictions, models, classes
        As in :func:`plot_confusion_matrices`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if len(classes) > 2:
        return plot_roc_curves_per_class(predictions, models, classes=classes)
    _require_models(predictions, models, "predictions")
    # the legend goes beside the square plot: inside, five entries hid the curves' upper-left corner
    fig, ax = plt.subplots(figsize=(9.5, 4.8), layout="constrained")
    for name in models:
        runs = predictions[predictions["model"] == name]
        label = _run_label(name, runs["split"].nunique())
        if runs["label"].nunique() < 2:
            logger.warning("%s: validation labels hold one class only; no ROC curve", name)
            continue
        _roc_line(ax, runs["label"], probability_matrix(runs)[:, 1], label,
                  linestyle="--" if model_info(name).baseline else "-")
    _roc_frame(ax, "ROC, validation predictions pooled over splits", chance_label="chance")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.03, 1), borderaxespad=0)
    return fig


def _roc_line(ax, truth, prob, label, **style):
    """The ROC curve of ``prob`` against the 0 / 1 ``truth`` on ``ax``, its AUC in the legend's label."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(truth, prob)
    ax.plot(fpr, tpr, label=f"{label}, AUC {roc_auc_score(truth, prob):.3f}", **style)


def _roc_frame(ax, title, *, chance_label=None):
    """The diagonal of chance, the axes' labels and limits, a square plot."""
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label=chance_label)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01), title=title,
           aspect="equal")


def plot_roc_curves_per_class(predictions, models, *, classes):
    """One-vs-rest ROC curves, one panel per model and one line per class (more than two classes).

    Each class's curve sets its probability column against the rest's
    tracks; the legend gives its pooled AUC (validation predictions of all
    splits together). Table 1's ROC-AUC is instead the mean over splits of
    the mean over classes. The arguments are those of :func:`plot_roc_curves`.
    """
    import matplotlib.pyplot as plt

    from .plotting import class_colors

    _require_models(predictions, models, "predictions")
    colours = class_colors(classes)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4.6), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], models):
        runs = predictions[predictions["model"] == name]
        prob = probability_matrix(runs)
        for index, label in enumerate(classes):
            truth = (runs["label"] == index).to_numpy()
            if truth.all() or not truth.any():
                logger.warning("%s: class %s is on one side of every validation track; no ROC curve", name, label)
                continue
            _roc_line(ax, truth, prob[:, index], label, color=colours[label])
        _roc_frame(ax, _run_label(name, runs["split"].nunique()))
        ax.legend(fontsize="x-small", loc="lower right", title="class vs the rest, splits pooled",
                  title_fontsize="x-small")
        ax.label_outer()
    return fig


def plot_accuracy_summary(summary, *, chance=0.5):
    """Mean validation accuracy per model with its confidence interval, and the paper's value.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`mer_utils.results.summary_table`; models without runs are left out.
    chance : float
        Accuracy of guessing on balanced classes (``1 / n_classes``), drawn as a dotted line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    accuracy = summary[(summary["metric"] == "accuracy") & (summary["runs"] > 0)].reset_index(drop=True)
    if accuracy.empty:
        raise ValueError("no model has run: nothing to plot")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(accuracy) + 1.5))
    y = np.arange(len(accuracy))[::-1]
    low = (accuracy["mean"] - accuracy["ci_low"]).fillna(0.0)
    high = (accuracy["ci_high"] - accuracy["mean"]).fillna(0.0)
    ax.errorbar(accuracy["mean"], y, xerr=[low, high], fmt="o", capsize=3, label="this run: mean, 95% CI")
    if accuracy["paper"].notna().any():  # the paper's accuracies are of its two-class task only
        ax.scatter(accuracy["paper"], y, marker="x", color="black", zorder=3, label="paper (Table 1)")
    ax.axvline(chance, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yticks(y, [f"{m} ({n})" for m, n in zip(accuracy["model"], accuracy["runs"])])
    ax.set(xlabel="validation accuracy (runs in brackets)", title="Table 1: accuracy per model")
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig


