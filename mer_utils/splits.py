"""Train / validation splits, made once in notebook 01 and shared by every model.

The paper "randomly split the dataset into 90% for training and the rest for
validation" and reports the mean of 5 runs (section 4). :func:`make_splits`
makes such splits, stratified by label and seeded; it also offers stratified
k-fold (every track validated exactly once) and grouping (an artist's songs
all on one side, so no model is rewarded for recognising the artist).

:func:`save_splits` writes them to ``data/splits.json``; :func:`load_splits`
reads them back restricted to the tracks still kept in the ledger, so models
trained after the mel and lyrics stages rejected a few more tracks still see
identical data.
"""

import json
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, StratifiedShuffleSplit

from .accounting import kept_ids, read_ledger
from .config import LABELS, N_SPLITS, SEED, SPLIT_SCHEME, VAL_FRACTION
from .fileio import write_json

SCHEMES = ("shuffle", "kfold")


def _label_indices(labels):
    """Labels as 0/1 (1 = positive); accepts 0/1 or the names in :data:`~mer_utils.config.LABELS`."""
    to_index = {name: i for i, name in enumerate(LABELS)} | {0: 0, 1: 1}
    unknown = sorted({repr(v) for v in labels if v not in to_index})
    if unknown:
        raise ValueError(f"labels must be 0/1 or {LABELS}; got {', '.join(unknown[:5])}")
    return np.array([to_index[v] for v in labels], dtype=int)


def _parts(fraction):
    """Smallest number of tracks in which a share ``fraction`` is at least one track."""
    return int(np.ceil(1 / fraction - 1e-9))


def _group_codes(groups, n):
    """One integer per track; an empty group (unknown artist) is a group of its own."""
    if groups is None:
        return None
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} tracks")
    codes, unique = [], {}
    for i, group in enumerate(groups):
        key = group if isinstance(group, str) and group.strip() else ("__ungrouped__", i)
        codes.append(unique.setdefault(key, len(unique)))
    return np.array(codes)


def validate_split_request(track_ids, labels, *, scheme, n_splits, val_fraction, groups=None):
    """Raise ``ValueError`` unless the tracks can be split as asked.

    Parameters
    ----------
    track_ids : sequence of str
    labels : sequence of {0, 1} or {"negative", "positive"}
    scheme : {"shuffle", "kfold"}
    n_splits : int
    val_fraction : float
        Share of the tracks in validation (``shuffle`` only).
    groups : sequence of str, optional
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown split scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if len(track_ids) != len(labels):
        raise ValueError(f"{len(track_ids)} track ids but {len(labels)} labels")
    duplicated = [t for t, n in Counter(track_ids).items() if n > 1]
    if duplicated:
        raise ValueError(f"duplicate track ids cannot be split: {duplicated[:5]}")
    minimum_splits = 2 if scheme == "kfold" else 1
    if not isinstance(n_splits, (int, np.integer)) or n_splits < minimum_splits:
        raise ValueError(f"n_splits must be an integer >= {minimum_splits} for scheme {scheme!r}, got {n_splits!r}")
    if scheme == "shuffle" and not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    per_class = np.bincount(_label_indices(labels), minlength=len(LABELS))
    # each class needs a track in every validation part and in training
    needed = n_splits if scheme == "kfold" else max(2, _parts(min(val_fraction, 1 - val_fraction)))
    if groups is not None and scheme == "shuffle":
        needed = max(needed, _parts(val_fraction))
    short = [f"{n} {LABELS[i]}" for i, n in enumerate(per_class) if n < needed]
    if short:
        raise ValueError(
            f"too few tracks per class for {scheme} splits (n_splits={n_splits}, val_fraction={val_fraction}): "
            f"{' and '.join(short)}; each class needs at least {needed}"
        )
    codes = _group_codes(groups, len(track_ids))
    if codes is not None and len(set(codes)) < needed:
        raise ValueError(f"only {len(set(codes))} distinct groups (artists); grouped splits need at least {needed}")


def _splitter(scheme, *, n_splits, val_fraction, seed, grouped):
    """The scikit-learn splitter and how many of its splits to take."""
    if scheme == "kfold":
        cls = StratifiedGroupKFold if grouped else StratifiedKFold
        return [cls(n_splits=n_splits, shuffle=True, random_state=seed)], n_splits
    if not grouped:
        return [StratifiedShuffleSplit(n_splits=n_splits, test_size=val_fraction, random_state=seed)], n_splits
    # grouped shuffle: split i is the first fold of a stratified group k-fold with ~val_fraction per fold
    n_folds = max(2, round(1 / val_fraction))
    return [StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed + i) for i in range(n_splits)], 1


def make_splits(track_ids, labels, *, scheme=SPLIT_SCHEME, n_splits=N_SPLITS, val_fraction=VAL_FRACTION,
                seed=SEED, groups=None):
    """Stratified, seeded train / validation splits.

    Parameters
    ----------
    track_ids : sequence of str, length n
    labels : sequence of {0, 1} or {"negative", "positive"}, length n
    scheme : {"shuffle", "kfold"}
        ``shuffle`` (paper): ``n_splits`` independent random splits with
        ``val_fraction`` of each class in validation. ``kfold``: stratified
        k-fold, each track in exactly one validation part (``val_fraction``
        is then ``1 / n_splits`` and the argument is ignored).
    n_splits : int
        Number of splits (paper: 5).
    val_fraction : float
        Validation share for ``shuffle`` (paper: 0.1).
    seed : int
    groups : sequence of str, optional, length n
        E.g. artists: all tracks of a group fall on the same side of every
        split (``StratifiedGroupKFold``; for ``shuffle``, split ``i`` is one
        fold of a group k-fold seeded with ``seed + i``). Stratification is
        then approximate. Empty strings (unknown artist) are each a group of
        their own.

    Returns
    -------
    list of dict
        ``[{"train": [ids], "val": [ids]}, ...]``, ids in input order.

    Raises
    ------
    ValueError
        On an unknown scheme, mismatched lengths, duplicate ids, labels other
        than the two classes, or too few tracks (or groups) per class.
    """
    track_ids = list(track_ids)
    validate_split_request(track_ids, labels, scheme=scheme, n_splits=n_splits,
                           val_fraction=val_fraction, groups=groups)
    y = _label_indices(labels)
    codes = _group_codes(groups, len(track_ids))
    splitters, per_splitter = _splitter(scheme, n_splits=n_splits, val_fraction=val_fraction, seed=seed,
                                        grouped=codes is not None)
    ids = np.array(track_ids, dtype=object)
    splits = []
    for splitter in splitters:
        parts = splitter.split(np.zeros(len(y)), y, codes) if codes is not None else splitter.split(np.zeros(len(y)), y)
        for _, (train, val) in zip(range(per_splitter), parts):
            splits.append({"train": ids[np.sort(train)].tolist(), "val": ids[np.sort(val)].tolist()})
    return splits


def split_summary(splits, labels):
    """Size and class balance of every part of every split.

    Parameters
    ----------
    splits : list of dict
    labels : mapping of track id to 0/1

    Returns
    -------
    pandas.DataFrame
        Columns ``split, part, tracks, positive, negative, positive_share``.
    """
    rows = []
    for i, split in enumerate(splits):
        for part in ("train", "val"):
            n_positive = sum(labels[t] for t in split[part])
            n = len(split[part])
            rows.append({"split": i, "part": part, "tracks": n, "positive": n_positive,
                         "negative": n - n_positive, "positive_share": round(n_positive / n, 3) if n else float("nan")})
    return pd.DataFrame(rows)


def save_splits(layout, splits, *, params):
    """Write ``data/splits.json`` (the splits and the parameters that made them); return its path.

    Written to a temporary name and renamed, so a kill never leaves half a file.
    """
    return write_json(layout.splits_json, {"params": params, "splits": splits}, indent=1)


def read_splits(layout):
    """The splits and parameters as saved by :func:`save_splits`, unrestricted: ``(splits, params)``."""
    path = layout.splits_json
    if not path.is_file():
        raise ValueError(f"no splits at {path}: run notebook 01_data for this run folder first")
    saved = json.loads(path.read_text(encoding="utf-8"))
    return saved["splits"], saved.get("params", {})


def load_splits(layout):
    """The saved splits restricted to the tracks still kept in the run's ledger.

    Every model of a run calls this, so all see the same tracks even after
    the mel and lyrics stages rejected a few more.

    Returns
    -------
    list of dict
        ``[{"train": [ids], "val": [ids]}, ...]``.

    Raises
    ------
    ValueError
        If the splits name a track the ledger does not have (stale files from
        another run), or a split part is left without any track.
    """
    splits, _ = read_splits(layout)
    ledger = read_ledger(layout.tracks_csv)
    known = set(ledger["track_id"])
    kept = set(kept_ids(ledger))
    restricted = []
    for i, split in enumerate(splits):
        part_ids = {}
        for part in ("train", "val"):
            unknown = [t for t in split[part] if t not in known]
            if unknown:
                raise ValueError(
                    f"{layout.splits_json}: split {i} names tracks missing from the ledger "
                    f"{layout.tracks_csv} ({unknown[:5]}); rerun notebook 01_data"
                )
            part_ids[part] = [t for t in split[part] if t in kept]
            if not part_ids[part]:
                raise ValueError(f"split {i} has no {part} track left after later stages rejected tracks")
        restricted.append(part_ids)
    return restricted


def label_map(layout):
    """``{track_id: 1 if positive else 0}`` for the tracks kept in the run's ledger."""
    ledger = read_ledger(layout.tracks_csv)
    kept = ledger[ledger["status"] == "kept"]
    return dict(zip(kept["track_id"], (kept["label"] == LABELS[1]).astype(int).tolist()))
