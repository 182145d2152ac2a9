"""Which inputs a run uses: audio, lyrics or both.

The paper's models read audio and lyrics; many public emotion corpora give
only one of them. Notebook 01 resolves its ``modalities`` parameter against
the corpus (:func:`resolve`): ``auto`` takes each modality the corpus gives
for at least one track, ``audio`` / ``lyrics`` one of them, ``both`` insists
on both. It records the result with the splits (``data/splits.json``, see
:func:`mer_utils.splits.save_splits`), where every later notebook reads it
(:func:`load`).

A stage or model whose modality the run lacks finishes at once with a note
(:func:`skip_rest_unless`): nothing computed, nothing trained, no failure.
"""

import logging

from .config import MODALITIES

logger = logging.getLogger(__name__)

#: The modalities, in the order a run lists them.
KINDS = ("audio", "lyrics")
#: Values of the ``modalities`` parameter (config.PARAMETER_RANGES agrees).
CHOICES = ("auto", "audio", "lyrics", "both")
#: Where a corpus gives each modality, by manifest source: what to fill when it is missing.
_WHERE = {
    "audio": {"csv": "the column 'audio_path' of the corpus CSV", "folder": "audio files in the corpus folder",
              "mirex": "the dataset's Audio/ folder", "demo": "the demo corpus's audio"},
    "lyrics": {"csv": "the column 'lyrics_path' (files) or 'lyrics' (the text) of the corpus CSV",
               "folder": "lyrics/<track id>.txt files in the corpus folder",
               "mirex": "the dataset's Lyrics/ folder", "demo": "the demo corpus's lyrics"},
}


def present(manifest):
    """The modalities a corpus gives for at least one track.

    Parameters
    ----------
    manifest : pandas.DataFrame
        From :func:`mer_utils.corpus.build_manifest`.

    Returns
    -------
    tuple of str
        A subset of :data:`KINDS`, in its order.
    """
    has = {
        "audio": (manifest["audio_path"] != "").any(),
        "lyrics": ((manifest["lyrics_path"] != "") | (manifest["lyrics_text"].str.strip() != "")).any(),
    }
    return tuple(kind for kind in KINDS if has[kind])


def _where(kind, manifest):
    """Where the corpus would give ``kind``: a column of the CSV, a folder, ..."""
    sources = set(manifest["source"])
    source = sources.pop() if len(sources) == 1 else ""
    return _WHERE[kind].get(source, f"the {kind} of its tracks")


def resolve(requested, manifest):
    """The modalities a run uses, from the ``modalities`` parameter and what the corpus gives.

    Parameters
    ----------
    requested : {"auto", "audio", "lyrics", "both"}
        ``auto``: each modality the corpus gives for at least one track.
    manifest : pandas.DataFrame
        The corpus manifest.

    Returns
    -------
    tuple of str
        ``("audio", "lyrics")``, ``("audio",)`` or ``("lyrics",)``.

    Raises
    ------
    ValueError
        On an unknown value; when a requested modality is absent for every
        track (naming it and where to fill it in); when ``both`` meets a
        corpus that gives only one (suggesting ``auto``).
    """
    if requested not in CHOICES:
        raise ValueError(f"unknown modalities {requested!r}; choose one of {', '.join(CHOICES)}")
    given = present(manifest)
    n_tracks = len(manifest)
    if requested == "auto":
        if not given:
            raise ValueError(
                f"the corpus gives neither audio nor lyrics for any of its {n_tracks} tracks: "
                f"fill {_where('audio', manifest)} or {_where('lyrics', manifest)}"
            )
        return given
    wanted = KINDS if requested == "both" else (requested,)
    missing = [kind for kind in wanted if kind not in given]
    if missing and requested == "both" and given:
        kind = missing[0]
        raise ValueError(
            f"modalities 'both', but the corpus gives no {kind} for any of its {n_tracks} tracks "
            f"(fill {_where(kind, manifest)}); use modalities: auto to run on its {given[0]} alone"
        )
    if missing:
        raise ValueError(
            f"modalities {requested!r}: the corpus gives no {' and no '.join(missing)} for any of its {n_tracks} "
            f"tracks; fill {' and '.join(_where(kind, manifest) for kind in missing)}"
        )
    return wanted


def load(layout):
    """The modalities of a run, as notebook 01 resolved and saved them.

    Parameters
    ----------
    layout : mer_utils.paths.RunLayout

    Returns
    -------
    tuple of str
        A subset of :data:`KINDS`; both for a run saved before modalities existed.
    """
    from .splits import read_run_data  # splits imports nothing from here; imported late to keep this module light

    return tuple(read_run_data(layout).get("modalities", KINDS))


def describe(modalities):
    """``"audio and lyrics"``, ``"audio only"``, ``"lyrics only"``."""
    return " and ".join(modalities) if len(modalities) > 1 else f"{modalities[0]} only"


def missing(layout, *needed):
    """The ``needed`` modalities the run lacks (empty: it has them all).

    Parameters
    ----------
    layout : mer_utils.paths.RunLayout
    *needed : {"audio", "lyrics"}

    Returns
    -------
    list of str
    """
    unknown = [kind for kind in needed if kind not in KINDS]
    if not needed or unknown:
        raise ValueError(f"needed modalities must be among {KINDS}, got {needed}")
    have = load(layout)
    return [kind for kind in needed if kind not in have]


def skip_rest_unless(layout, *needed, doing):
    """Let a notebook go on when its run has the ``needed`` modalities; else skip its remaining cells.

    Papermill cannot stop a notebook without failing it, so when a modality
    is missing this logs a note saying what is skipped and why, then turns
    every *later* code cell of the kernel into a one-line note (an IPython
    input transformer): the notebook completes at once, computing and
    training nothing. The rest of the calling cell still runs, so call it
    last in the set-up cell. Outside IPython it only logs. Code that is not a
    notebook asks :func:`missing` instead.

    Parameters
    ----------
    layout : mer_utils.paths.RunLayout
    *needed : {"audio", "lyrics"}
        The modalities the notebook needs (the fused model: both).
    doing : str
        What the notebook does, for the note ("computing mel-spectrograms").
    """
    lacking = missing(layout, *needed)
    if not lacking:
        return
    note = (f"Skipped: {doing} needs {' and '.join(lacking)}, and this run has {describe(load(layout))} "
            f"(the modalities notebook 01_data resolved; its `modalities` parameter, default "
            f"{MODALITIES!r}). Nothing is computed or trained here; the remaining cells do nothing "
            f"(in Jupyter, until the kernel restarts).")
    logger.info(note)
    skip_later_cells(f"(skipped: this run has no {' and no '.join(lacking)})")


def skip_later_cells(note):
    """Replace the source of every later code cell of this IPython kernel by ``print(note)``."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    transformers = shell.input_transformers_cleanup
    transformers[:] = [t for t in transformers if not getattr(t, "_mer_skip", False)]  # once, even if rerun

    def skip(lines):
        return [f"print({note!r})\n"]

    skip._mer_skip = True
    transformers.append(skip)
