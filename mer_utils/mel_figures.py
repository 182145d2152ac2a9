"""Figures of notebook 02 (mel extraction): example spectrograms, class-average spectra.

Each function returns a matplotlib Figure; the notebook saves it with
:func:`mer_utils.notebook.save_figure`.
"""

import numpy as np
from matplotlib import pyplot as plt

from .melspec import clip_samples, hop_length, quiet_librosa
from .plotting import CLASS_COLORS, class_colors, drawable, hangul_font


def plot_examples(store, examples, *, sample_rate, clip_seconds, titles=None):
    """Log-mel spectrograms of a few tracks per class, on one colour scale.

    Parameters
    ----------
    store : MelStore
    examples : dict[str, list of str]
        Class -> track ids (one row of panels per class), e.g. from
        :func:`mer_utils.mels.pick_examples`.
    sample_rate : int
    clip_seconds : float
        The extraction parameters, for the time and frequency axes.
    titles : dict[str, str], optional
        Track id -> panel title (e.g. "artist - title"); default the id.

    Returns
    -------
    matplotlib.figure.Figure
    """
    librosa = quiet_librosa()
    n_mels, n_frames = store.shape
    hop = hop_length(clip_samples(sample_rate=sample_rate, clip_seconds=clip_seconds), n_frames)
    rows, cols = len(examples), max((len(ids) for ids in examples.values()), default=1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False,
                             sharex=True, sharey=True, constrained_layout=True)
    features = {t: store.get(t).astype(np.float32) for ids in examples.values() for t in ids}
    # One colour scale for all panels, so that differences in loudness between tracks stay visible;
    # an 80 dB range, as usual for spectrograms (the -100 dB floor would flatten the contrast).
    vmax = float(np.percentile(np.stack(list(features.values())), 99.9)) if features else 0.0
    vmin = vmax - 80
    image = None
    for row, (label, ids) in enumerate(examples.items()):
        for col in range(cols):
            ax = axes[row, col]
            if col >= len(ids):
                ax.axis("off")
                continue
            image = librosa.display.specshow(features[ids[col]], sr=sample_rate, hop_length=hop, x_axis="s",
                                             y_axis="mel", fmax=sample_rate / 2, vmin=vmin, vmax=vmax, cmap="magma",
                                             ax=ax)
            ax.set_title(f"{label}: {drawable((titles or {}).get(ids[col], ids[col]))}", fontsize=9,
                         color=CLASS_COLORS.get(label, "black"), **(hangul_font() or {}))
            ax.set_xlabel("time (s)")
            ax.label_outer()
    if image is not None:
        fig.colorbar(image, ax=axes, format="%+.0f dB", shrink=0.8)
    fig.suptitle(f"Log-mel spectrograms ({n_mels} bands x {n_frames} frames, first {clip_seconds:g} s)")
    return fig


def plot_class_spectra(spectra, *, sample_rate):
    """Mean spectrum of each class; with two classes, the difference between them below.

    Parameters
    ----------
    spectra : pandas.DataFrame [shape=(n_mels, n_classes)]
        From :func:`mer_utils.mels.class_average_spectra`, in dB.
    sample_rate : int
        For the centre frequency of each mel band.

    Returns
    -------
    matplotlib.figure.Figure
        Two classes: the class means, and below them the second minus the
        first ("positive minus negative" for the paper's classes, whichever
        order the columns come in). Any other number: the class means alone,
        one line per class (a difference of two classes would hide the others).
    """
    centres = quiet_librosa().mel_frequencies(n_mels=len(spectra) + 2, fmax=sample_rate / 2)[1:-1]
    pair = _difference_pair(spectra.columns)
    if pair is None:
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    else:
        fig, (ax, diff) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, height_ratios=[2, 1],
                                       constrained_layout=True)
    colours = class_colors(spectra.columns)
    for label in spectra.columns:
        ax.plot(centres, spectra[label], label=label, color=colours[label])
    ax.set(xscale="log", ylabel="mean log-mel power (dB)", title="Class-average spectra")
    ax.legend(title="class")
    if pair is None:
        ax.set_xlabel("mel band centre (Hz)")
        return fig
    first, second = pair
    diff.plot(centres, spectra[second] - spectra[first], color="black")
    diff.axhline(0, color="grey", linewidth=0.8)
    # a short label: the long "positive - negative (dB)" ran past this low panel into the ticks above
    diff.set(xscale="log", xlabel="mel band centre (Hz)", ylabel="difference (dB)")
    diff.set_title(f"{second} minus {first}", fontsize="small", loc="left")
    fig.align_ylabels([ax, diff])
    return fig


def _difference_pair(classes):
    """``(first, second)`` whose difference the spectra figure draws: the paper's (negative, positive), else
    the two classes in their order; ``None`` for any other number of classes."""
    classes = list(classes)
    if len(classes) != 2:
        return None
    return ("negative", "positive") if set(classes) == {"negative", "positive"} else tuple(classes)
