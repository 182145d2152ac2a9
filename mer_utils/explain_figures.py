"""Figures of notebook 09 (try a song): where in the music, and which words, moved a model's decision.

Each function returns a matplotlib Figure of an explanation from
:mod:`mer_utils.explain`; the notebook saves it with
:func:`mer_utils.notebook.save_figure`.
"""

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from .melspec import clip_samples, hop_length, quiet_librosa
from .plotting import drawable, hangul_font


def plot_audio_explanation(mel, explanation, *, sample_rate, clip_seconds, title=""):
    """The song's log-mel spectrogram, its occlusion saliency, and the score of each time window.

    Parameters
    ----------
    mel : np.ndarray [shape=(n_mels, n_frames)]
        The spectrogram the model read, in dB.
    explanation : mer_utils.explain.AudioExplanation
    sample_rate, clip_seconds : number
        The run's extraction parameters, for the axes.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    librosa = quiet_librosa()
    hop = hop_length(clip_samples(sample_rate=sample_rate, clip_seconds=clip_seconds), mel.shape[1])
    fig, (spec_ax, sal_ax, bar_ax) = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True, height_ratios=[2, 2, 1],
                                                  constrained_layout=True)
    shown = dict(sr=sample_rate, hop_length=hop, x_axis="s", y_axis="mel", fmax=sample_rate / 2)
    vmax = float(np.percentile(mel, 99.9))
    image = librosa.display.specshow(mel, vmin=vmax - 80, vmax=vmax, cmap="magma", ax=spec_ax, **shown)
    fig.colorbar(image, ax=spec_ax, format="%+.0f dB")
    spec_ax.set(title=title or "What the model heard", xlabel="")
    limit = float(np.abs(explanation.saliency).max()) or 1.0
    image = librosa.display.specshow(explanation.saliency, vmin=-limit, vmax=limit, cmap="RdBu_r", ax=sal_ax, **shown)
    fig.colorbar(image, ax=sal_ax, label="score")
    sal_ax.set(title=f"Red: supports {explanation.label}; blue: argues against it (occluding each cell)", xlabel="")
    spans = explanation.spans
    colors = np.where(spans.score >= 0, "tab:red", "tab:blue")
    bar_ax.bar(spans.start_s, spans.score, width=spans.end_s - spans.start_s, align="edge", color=colors)
    bar_ax.axhline(0, color="grey", linewidth=0.8)
    bar_ax.set(xlabel="time (s)", ylabel="score", title="Each time window occluded, all bands",
               xlim=(0, spans.end_s.max()))
    return fig


def plot_lyrics_explanation(explanation, *, top=10, title=""):
    """Bars of the words that supported the decision most, and of those that argued against it most.

    Parameters
    ----------
    explanation : mer_utils.explain.LyricsExplanation
    top : int
        Words on each side.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    words = explanation.words
    supporting, against = words[words.contribution > 0].head(top), words[words.contribution < 0].tail(top)
    shown = pd.concat([supporting, against]).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.8 + 0.28 * max(len(shown), 1)), constrained_layout=True)
    ax.barh(range(len(shown)), shown.contribution,
            color=["tab:red" if c > 0 else "tab:blue" for c in shown.contribution])
    ax.set_yticks(range(len(shown)), [drawable(w) for w in shown.word], **(hangul_font() or {}))
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set(xlabel=f"score: drop when the word is left out (red: supports {explanation.label})",
           title=title or "The words that moved the decision")
    return fig
