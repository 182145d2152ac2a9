"""Example user corpora of every shape the CSV adapter reads, made from the demo corpus (issue 12).

Public emotion corpora come audio-only, lyrics-only, with their own splits,
with more than two classes. So that each shape can be tried at once,
:func:`write_shapes` writes one CSV per shape that points at the demo
corpus's own audio and lyrics (nothing is copied)::

    python -m mer_utils.demo.shapes [--n-tracks 300] [--seed 2017]

=====================  ==============================================================
``both.csv``           audio and lyrics: the demo corpus as a user would describe it
``audio_only.csv``     no lyrics column (``modalities: auto`` resolves to audio)
``lyrics_only.csv``    no ``audio_path`` column (lyrics)
``given_splits.csv``   a ``split`` column: train / val / test, 8 : 1 : 1 within each label
``four_classes.csv``   four classes, polarity x language (``positive_ko``, ...), for
                       ``label_map``; a stand-in for Russell's quadrants, which the
                       demo corpus does not have (the ``mirex5`` profile has real classes)
=====================  ==============================================================

Every other rule still applies: the demo corpus's planted defects are rejected
as usual (those of the missing modality excepted).
"""

import argparse
from pathlib import Path


from .. import paths
from ..accounting import Rejected
from ..config import DEMO_N_TRACKS, SEED
from ..corpus import from_demo
from ..filtering import polarity_scheme, tag_class

#: The columns a user's CSV has (paths absolute, so the CSVs may live anywhere).
COLUMNS = ("track_id", "audio_path", "lyrics_path", "language", "tags", "artist", "title")
#: Within each label, track ``i`` goes to ``GIVEN_CYCLE[i % 10]``.
GIVEN_CYCLE = ("train",) * 8 + ("val", "test")
#: The label_map of ``four_classes.csv``: each of its tags is a class.
FOUR_CLASSES = ("negative_en", "negative_ko", "positive_en", "positive_ko")


def shapes_dir(*, n_tracks=DEMO_N_TRACKS, seed=SEED):
    """Where :func:`write_shapes` writes by default: ``data/raw/shapes-<seed>-<n_tracks>``."""
    return paths.raw_dir(f"shapes-{seed}-{n_tracks}")


def _polarity(tags):
    """The paper's label of a demo track's tags, or ``""`` (planted tag defects keep their tags)."""
    try:
        return tag_class(tags, scheme=polarity_scheme())
    except Rejected:
        return ""


def _given(table):
    """train / val / test per row, cycling within each label; a repeated id keeps its first row's part."""
    first = table.drop_duplicates("track_id")
    labels = first["tags"].map(_polarity)
    position = labels.groupby(labels).cumcount()
    parts = dict(zip(first["track_id"], (GIVEN_CYCLE[p % len(GIVEN_CYCLE)] for p in position)))
    return table["track_id"].map(parts)


def _four_class_tags(table):
    """``<polarity>_<language>`` where both are known; other rows keep their tags (and are rejected)."""
    labels = table["tags"].map(_polarity)
    known = (labels != "") & table["language"].isin(["en", "ko"])
    return table["tags"].where(~known, labels + "_" + table["language"])


def write_shapes(out_dir=None, *, n_tracks=DEMO_N_TRACKS, seed=SEED):
    """Write one CSV per corpus shape from the demo corpus (generated first if needed).

    Parameters
    ----------
    out_dir : str or Path, optional
        Default :func:`shapes_dir`.
    n_tracks, seed : int
        The demo corpus to describe (the ``demo`` profile's: 300 tracks, seed 2017).

    Returns
    -------
    dict
        Shape name (``"both"``, ``"audio_only"``, ...) -> the CSV's path.
    """
    out_dir = Path(out_dir) if out_dir else shapes_dir(n_tracks=n_tracks, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = from_demo(n_tracks=n_tracks, seed=seed).loc[:, list(COLUMNS)]
    shapes = {
        "both": table,
        "audio_only": table.drop(columns="lyrics_path"),
        "lyrics_only": table.drop(columns="audio_path"),
        "given_splits": table.assign(split=_given(table)),
        "four_classes": table.assign(tags=_four_class_tags(table)),
    }
    written = {}
    for name, shape in shapes.items():
        written[name] = out_dir / f"{name}.csv"
        shape.to_csv(written[name], index=False)
    return written


def commands(written):
    """The runner command of each shape, as the README shows them."""
    run = ".venv/bin/python -m mer_utils.run --profile demo --set corpus=csv --set corpus_path="
    extra = {
        "given_splits": " --set split_scheme=given",
        "four_classes": " --set 'label_map={" + ", ".join(f"{c}: {c}" for c in FOUR_CLASSES) + "}'",
    }
    return {name: f"{run}{path}{extra.get(name, '')}" for name, path in written.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default=None, help="default: data/raw/shapes-<seed>-<n_tracks>")
    parser.add_argument("--n-tracks", type=int, default=DEMO_N_TRACKS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for name, command in commands(write_shapes(args.out_dir, n_tracks=args.n_tracks, seed=args.seed)).items():
        print(f"# {name}\n{command}")


if __name__ == "__main__":
    main()
