"""Figures of notebook 03 (lyrics): lengths against max_len, vocabulary coverage, class words.

Each function returns a matplotlib Figure; the notebook saves it with
:func:`mer_utils.notebook.save_figure`. Korean words are drawn in the Hangul
font of :mod:`mer_utils.plotting`; when none loads, they are romanised letter by
letter (``눈물`` -> ``nunmul*``) instead of being drawn as empty boxes.
"""

import numpy as np
from matplotlib import pyplot as plt

from .hangul import romanize
from .plotting import class_colors, hangul_font
from .pos import has_hangul


def _labels(words):
    """Words as they can be drawn here, and whether any had to be romanised."""
    if hangul_font() or not any(has_hangul(w) for w in words):
        return list(words), False
    return [f"{romanize(w)}*" if has_hangul(w) else w for w in words], True


def plot_lengths(lengths, *, max_len):
    """Histogram of kept words per track, with the sequence length ``max_len`` marked.

    Parameters
    ----------
    lengths : sequence of int
        Kept words per track.
    max_len : int
        Sequences are truncated to this many words, shorter ones padded.
    """
    lengths = np.asarray(list(lengths))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(lengths, bins=min(40, max(5, len(np.unique(lengths)))), color="tab:blue", alpha=0.8)
    ax.axvline(max_len, color="tab:red", linestyle="--", label=f"max_len = {max_len}")
    truncated = float(np.mean(lengths > max_len)) if len(lengths) else 0.0
    ax.set(xlabel="kept words per track", ylabel="tracks",
           title=f"Lyrics length after POS filtering ({truncated:.0%} of {len(lengths)} tracks truncated)")
    ax.legend()
    return fig


def plot_coverage(curve, *, vocab_size):
    """Share of training and validation words covered, against vocabulary size.

    Parameters
    ----------
    curve : pandas.DataFrame
        From :func:`mer_utils.vocabulary.coverage_curve`.
    vocab_size : int
        The run's vocabulary size, marked on the plot.
    """
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(curve.vocab_size, curve.train_coverage, marker="o", label="training words (fit here)")
    ax.plot(curve.vocab_size, curve.val_coverage, marker="o", label="validation words (never seen)")
    ax.axvline(vocab_size, color="tab:red", linestyle="--", label=f"vocab_size = {vocab_size:,}")
    ax.set_xscale("log")
    ax.set(xlabel="vocabulary size (ids, padding and OOV included)", ylabel="share of words in vocabulary",
           ylim=(0, 1.02), title="Vocabulary coverage, first split")
    ax.legend(loc="lower right")
    return fig


def plot_class_words(table):
    """Bars of the words most associated with each class.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`mer_utils.vocabulary.class_association` or
        :func:`~mer_utils.vocabulary.class_association_by_class`: one panel per
        class, in the table's order (two side by side, more in rows of three).
    """
    labels = list(dict.fromkeys(table.label)) or ["positive", "negative"]  # the table's order: positive first
    n_cols = 2 if len(labels) <= 2 else 3
    n_rows = -(-len(labels) // n_cols)
    height = 0.8 + 0.3 * max(table.label.value_counts().max() if len(table) else 0, 1)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5 * n_cols, height * n_rows), squeeze=False)
    colors = class_colors(labels)
    romanized = False
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    for ax, label in zip(axes.flat, labels):
        part = table[table.label == label].iloc[::-1]
        names, changed = _labels(part.word.tolist())
        romanized |= changed
        ax.barh(range(len(part)), part.log_odds.abs(), color=colors[label])
        ax.set_yticks(range(len(part)), names, **(hangul_font() or {}))
        ax.set(xlabel=f"log odds ratio, {label} vs other", title=f"Words of {label} tracks")
    if romanized:
        fig.text(0.01, -0.02, "* Korean word romanised (no Hangul font could be loaded)", fontsize=8)
    fig.tight_layout()
    return fig
