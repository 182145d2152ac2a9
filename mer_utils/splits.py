"""Train / validation splits, made once in notebook 01 and shared by every model.

The paper "randomly split the dataset into 90% for training and the rest for
validation" and reports the mean of 5 runs (section 4). :func:`make_splits`
makes such splits, stratified by label (any number of classes) and seeded;
it also offers stratified k-fold (every track validated exactly once),
grouping (an artist's songs all on one side, so no model is rewarded for
recognising the artist) and the corpus's own parts (``given``: its CSV's
``split`` column, train / val / test or fold numbers, checked by
:func:`validate_given_parts` and used as they are).

:func:`save_splits` writes them to ``data/splits.json`` together with what
notebook 01 decided for every later notebook: the run's classes
(:func:`load_classes`; label index ``i`` is ``classes[i]``) and modalities
(:func:`mer_utils.modality.load`). :func:`load_splits` reads the splits back
restricted to the tracks still kept in the ledger, so models trained after
the mel and lyrics stages rejected a few more tracks still see identical
data; :func:`label_map` gives each kept track's label index.
"""

import json
import logging
import re
import unicodedata
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, StratifiedShuffleSplit

from .accounting import kept as kept_tracks, kept_ids, read_ledger, rejected
from .config import LABELS, N_SPLITS, SEED, SPLIT_SCHEME, VAL_FRACTION
from .fileio import write_json
from .modality import KINDS

logger = logging.getLogger(__name__)

SCHEMES = ("shuffle", "kfold", "given")
#: The parts a split may have, in the order they are listed. Made splits have
#: train and val; given ones may add test (tracks held out for a final evaluation).
PARTS = ("train", "val", "test")


def _label_indices(labels, classes=None):
    """Labels as class indices; takes indices or the names of ``classes`` (default :data:`~mer_utils.config.LABELS`)."""
    classes = LABELS if classes is None else tuple(classes)
    to_index = {name: i for i, name in enumerate(classes)} | {i: i for i in range(len(classes))}
    unknown = sorted({repr(v) for v in labels if v not in to_index})
    if unknown:
        raise ValueError(f"labels must be {'/'.join(map(str, range(len(classes))))} or {classes}; "
                         f"got {', '.join(unknown[:5])}")
    return np.array([to_index[v] for v in labels], dtype=int)


def _parts(fraction):
    """Smallest number of tracks in which a share ``fraction`` is at least one track."""
    return int(np.ceil(1 / fraction - 1e-9))


def _group_key(name):
    """How an artist is compared: stripped, case-folded, NFC (so 'IU', ' iu ' and a decomposed spelling are one)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name.strip()).casefold())


def _group_codes(groups, n):
    """One integer per track; an empty group (unknown artist) is a group of its own."""
    if groups is None:
        return None
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} tracks")
    codes, unique = [], {}
    for i, group in enumerate(groups):
        key = _group_key(group) if isinstance(group, str) and group.strip() else ("__ungrouped__", i)
        codes.append(unique.setdefault(key, len(unique)))
    return np.array(codes)


def validate_scheme(scheme):
    """Raise ``ValueError`` unless ``scheme`` is one of :data:`SCHEMES`."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown split scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


def validate_split_request(track_ids, labels, *, scheme, n_splits, val_fraction, groups=None, classes=None,
                           given=None):
    """Raise ``ValueError`` unless the tracks can be split as asked.

    Parameters
    ----------
    track_ids : sequence of str
    labels : sequence of int or str
        Class indices or names of ``classes``.
    scheme : {"shuffle", "kfold", "given"}
    n_splits : int
    val_fraction : float
        Share of the tracks in validation (``shuffle`` only).
    groups : sequence of str, optional
    classes : sequence of str, optional
        The class names in index order; default :data:`~mer_utils.config.LABELS`.
    given : sequence of str, optional
        Each track's part (``given`` only), see :func:`given_splits`.
    """
    validate_scheme(scheme)
    if len(track_ids) != len(labels):
        raise ValueError(f"{len(track_ids)} track ids but {len(labels)} labels")
    duplicated = [t for t, n in Counter(track_ids).items() if n > 1]
    if duplicated:
        raise ValueError(f"duplicate track ids cannot be split: {duplicated[:5]}")
    classes = LABELS if classes is None else tuple(classes)
    y = _label_indices(labels, classes)
    if scheme == "given":
        given_splits(track_ids, y, given, classes=classes, groups=groups)
        return
    minimum_splits = 2 if scheme == "kfold" else 1
    if not isinstance(n_splits, (int, np.integer)) or n_splits < minimum_splits:
        raise ValueError(f"n_splits must be an integer >= {minimum_splits} for scheme {scheme!r}, got {n_splits!r}")
    if scheme == "shuffle" and not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    per_class = np.bincount(y, minlength=len(classes))
    # each class needs a track in every validation part and in training
    needed = n_splits if scheme == "kfold" else max(2, _parts(min(val_fraction, 1 - val_fraction)))
    if groups is not None and scheme == "shuffle":
        needed = max(needed, _parts(val_fraction))
    short = [f"{n} {classes[i]}" for i, n in enumerate(per_class) if n < needed]
    if short:
        raise ValueError(
            f"too few tracks per class for {scheme} splits (n_splits={n_splits}, val_fraction={val_fraction}): "
            f"{' and '.join(short)}; each class needs at least {needed}"
        )
    codes = _group_codes(groups, len(track_ids))
    if codes is None:
        return
    if len(set(codes)) < needed:
        raise ValueError(f"only {len(set(codes))} distinct groups (artists); grouped splits need at least {needed}")
    # an artist's songs all fall on one side, so a class of fewer artists than parts misses a part
    few = [f"class {name!r} has {per_class[k]} tracks by {n} artist{'s' * (n != 1)}"
           for k, name in enumerate(classes) if (n := len(set(codes[y == k]))) < needed]
    if few:
        raise ValueError(f"{'; '.join(few)}; grouped {scheme} splits need at least {needed} artists per class "
                         f"(n_splits={n_splits}, val_fraction={val_fraction}): {_grouping_remedy(scheme)}")


def _grouping_remedy(scheme):
    """What a profile can change when grouped splits cannot put every class in every part."""
    fewer_parts = "lower n_splits" if scheme == "kfold" else "raise val_fraction"
    return f"add tracks of the class by other artists, {fewer_parts}, or set group_by_artist: false"


def _missing_classes(counts, classes):
    """``"class 'c' has no track in val (train: 10, val: 0)"`` for each class absent from a part.

    ``counts`` maps each part to its tracks per class, shape (n_classes,).
    """
    return [f"class {name!r} has no track in {part} (" + ", ".join(f"{p}: {c[k]}" for p, c in counts.items()) + ")"
            for k, name in enumerate(classes) for part, c in counts.items() if c[k] == 0]


def _check_every_class_in_every_part(splits, y, *, scheme, classes):
    """Raise ``ValueError`` naming each class a grouped split left out of its train or val part.

    Stratification is approximate with groups: a class with enough artists
    may still have all of them put on one side.
    """
    classes = LABELS if classes is None else tuple(classes)
    for i, (train, val) in enumerate(splits):
        counts = {"train": np.bincount(y[train], minlength=len(classes)),
                  "val": np.bincount(y[val], minlength=len(classes))}
        missing = _missing_classes(counts, classes)
        if missing:
            raise ValueError(f"grouped {scheme} split {i}: {'; '.join(missing)}; the class's artists do not "
                             f"spread over both parts: {_grouping_remedy(scheme)}")


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
                seed=SEED, groups=None, classes=None, given=None):
    """Stratified, seeded train / validation splits, or the corpus's own.

    Parameters
    ----------
    track_ids : sequence of str, length n
    labels : sequence of int or str, length n
        Class indices, or names of ``classes``.
    scheme : {"shuffle", "kfold", "given"}
        ``shuffle`` (paper): ``n_splits`` independent random splits with
        ``val_fraction`` of each class in validation. ``kfold``: stratified
        k-fold, each track in exactly one validation part (``val_fraction``
        is then ``1 / n_splits`` and the argument is ignored). ``given``:
        the parts in ``given``, used as they are (:func:`given_splits`;
        ``n_splits``, ``val_fraction`` and ``seed`` are ignored).
    n_splits : int
        Number of splits (paper: 5).
    val_fraction : float
        Validation share for ``shuffle`` (paper: 0.1).
    seed : int
    groups : sequence of str, optional, length n
        E.g. artists (compared stripped, case-folded and NFC-normalised):
        all tracks of a group fall on the same side of every
        split (``StratifiedGroupKFold``; for ``shuffle``, split ``i`` is one
        fold of a group k-fold seeded with ``seed + i``). Stratification is
        then approximate. Empty strings (unknown artist) are each a group of
        their own. Not with ``given``.
    classes : sequence of str, optional
        The class names in index order (any number, at least two); default
        :data:`~mer_utils.config.LABELS`.
    given : sequence of str, optional, length n
        Each track's part for ``given``: ``train`` / ``val`` / ``test``, or a fold number.

    Returns
    -------
    list of dict
        ``[{"train": [ids], "val": [ids]}, ...]``, ids in input order; a
        given split may also have ``"test"``.

    Raises
    ------
    ValueError
        On an unknown scheme, mismatched lengths, duplicate ids, labels
        outside the classes, too few tracks (or artists) of a class (naming
        the class and its count), grouped splits that leave a class out of a
        part (naming the split, the class and the part), or given parts that
        cannot be used.
    """
    track_ids = list(track_ids)
    validate_split_request(track_ids, labels, scheme=scheme, n_splits=n_splits, val_fraction=val_fraction,
                           groups=groups, classes=classes, given=given)
    y = _label_indices(labels, classes)
    if scheme == "given":
        return given_splits(track_ids, y, given, classes=classes)
    codes = _group_codes(groups, len(track_ids))
    splitters, per_splitter = _splitter(scheme, n_splits=n_splits, val_fraction=val_fraction, seed=seed,
                                        grouped=codes is not None)
    indices = []
    for splitter in splitters:
        parts = splitter.split(np.zeros(len(y)), y, codes) if codes is not None else splitter.split(np.zeros(len(y)), y)
        indices += [(np.sort(train), np.sort(val)) for _, (train, val) in zip(range(per_splitter), parts)]
    if codes is not None:
        _check_every_class_in_every_part(indices, y, scheme=scheme, classes=classes)
    ids = np.array(track_ids, dtype=object)
    return [{"train": ids[train].tolist(), "val": ids[val].tolist()} for train, val in indices]


# --- the corpus's own splits (split_scheme "given") ---------------------------------------

def _given_part(value):
    """A split cell as ``("part", "train")``, ``("fold", 3)``, or ``(None, cell)`` when unknown."""
    cell = str(value).strip()
    if cell.lower() in PARTS:
        return "part", cell.lower()
    if re.fullmatch(r"\d+", cell):
        return "fold", int(cell)
    return None, cell


def _name_values(pairs, limit=10):
    """``"track 'a' has 'dev', track 'b' has ''"`` (the first ``limit``, then how many more)."""
    pairs = list(pairs)
    named = ", ".join(f"track {t!r} has {v!r}" for t, v in pairs[:limit])
    return named + (f" (and {len(pairs) - limit} more)" if len(pairs) > limit else "")


def parse_given(track_ids, values):
    """The corpus's own part of every track, normalised; raises naming bad cells.

    Parameters
    ----------
    track_ids : sequence of str, length n
        How messages name the tracks.
    values : sequence of str, length n
        The ``split`` cells.

    Returns
    -------
    kind : {"part", "fold"}
    parts : list, length n
        ``"train"`` / ``"val"`` / ``"test"``, or fold numbers as int.
    """
    parsed = [_given_part(v) for v in values]
    unknown = [(t, cell) for t, (kind, cell) in zip(track_ids, parsed) if kind is None]
    if unknown and len(unknown) == len(parsed) and all(cell == "" for _, cell in unknown):
        raise ValueError("split_scheme 'given' reads the corpus's 'split' column, but no track has a split: "
                         "fill it with train / val / test or fold numbers, or use split_scheme shuffle or kfold")
    if unknown:
        raise ValueError(f"unknown split values (use train, val, test or a fold number): {_name_values(unknown)}")
    kinds = {kind for kind, _ in parsed}
    if len(kinds) > 1:
        examples = {kind: (t, v) for t, v, (kind, _) in zip(track_ids, values, parsed)}
        raise ValueError("the 'split' column mixes fold numbers and train / val / test: "
                         f"{_name_values(examples.values())}; use one form")
    return kinds.pop(), [part for _, part in parsed]


def part_order(parts):
    """The distinct values of ``parts`` (from :func:`parse_given`) in order: train, val, test; or by fold number."""
    present = set(parts)
    return [p for p in PARTS if p in present] + sorted(p for p in present if p not in PARTS)


def check_split_column(manifest, *, scheme):
    """Check the corpus's ``split`` column for ``scheme``: validated when ``given``, else its parts are ignored.

    With another scheme the run makes its own splits; a corpus that gives
    parts is then told so in a logged warning rather than having them
    dropped silently.

    Raises
    ------
    ValueError
        From :func:`validate_given_parts`, with ``scheme="given"``.
    """
    if scheme == "given":
        validate_given_parts(manifest)
        return
    column = manifest["split"] if "split" in manifest else pd.Series([], dtype=object)
    n_given = int((column.fillna("").astype(str).str.strip() != "").sum())
    if n_given:
        logger.warning("the corpus gives a split for %d of its %d tracks; split_scheme=%r makes new splits and "
                       "ignores them (split_scheme=given uses them)", n_given, len(manifest), scheme)


def validate_given_parts(manifest):
    """Raise ``ValueError`` unless every row of the corpus has a usable part of its own.

    Checked on the whole corpus, before filtering, so that a typo is found at
    once: every ``split`` cell is ``train``, ``val``, ``test`` or a fold
    number (unknown values are named with their track), all of one form, and
    a track listed twice is in one part.

    Parameters
    ----------
    manifest : pandas.DataFrame
        The corpus manifest (its ``split`` column).
    """
    track_ids = manifest["track_id"].tolist()
    _, parts = parse_given(track_ids, manifest["split"].tolist())
    seen = {}
    for track_id, part in zip(track_ids, parts):
        seen.setdefault(track_id, [])
        if part not in seen[track_id]:
            seen[track_id].append(part)
    straddling = {t: p for t, p in seen.items() if len(p) > 1}
    if straddling:
        named = ", ".join(f"track {t!r} is in {' and '.join(map(str, p))}" for t, p in list(straddling.items())[:10])
        raise ValueError(f"tracks listed in two parts of the corpus's own splits: {named}")


def given_splits(track_ids, labels, given, *, classes=None, groups=None):
    """The corpus's own splits, checked: every class in every part.

    Parameters
    ----------
    track_ids : sequence of str, length n
    labels : sequence of int, length n
        Class indices.
    given : sequence of str, length n
        Each track's part: ``train`` / ``val`` / ``test`` (one split, with
        ``train`` and ``val`` and optionally ``test``), or fold numbers
        (one split per fold, in fold order: that fold is ``val``, the others ``train``).
    classes : sequence of str, optional
    groups : None
        Grouping does not apply: the parts are used as they are.

    Returns
    -------
    list of dict
        ``[{"train": [ids], "val": [ids](, "test": [ids])}]`` or one such dict per fold.

    Raises
    ------
    ValueError
        Naming unknown values with their track, a missing part, or each class
        absent from a part with its counts.
    """
    classes = LABELS if classes is None else tuple(classes)
    if given is None or len(given) != len(track_ids):
        raise ValueError(f"split_scheme 'given' needs one part per track; got {0 if given is None else len(given)} "
                         f"for {len(track_ids)} tracks")
    if groups is not None:
        raise ValueError("group_by_artist does not apply to given splits: the corpus's own parts are used as they are")
    kind, parts = parse_given(list(track_ids), list(given))
    y = np.asarray(labels)
    if kind == "part":
        missing = [p for p in ("train", "val") if p not in parts]
        if missing:
            raise ValueError(f"the corpus's own splits have no {' and no '.join(missing)} track among the "
                             f"{len(parts)} kept tracks; given splits need train and val (test is optional)")
        members = {p: [i for i, q in enumerate(parts) if q == p] for p in part_order(parts)}
        splits = [{p: [track_ids[i] for i in idx] for p, idx in members.items()}]
    else:
        folds = part_order(parts)
        if len(folds) < 2:
            raise ValueError(f"the corpus's own splits have one fold ({folds[0]}) among the kept tracks; "
                             f"fold numbers need at least two folds")
        members = {f"fold {f}": [i for i, q in enumerate(parts) if q == f] for f in folds}
        splits = [{"train": [t for t, q in zip(track_ids, parts) if q != f],
                   "val": [t for t, q in zip(track_ids, parts) if q == f]} for f in folds]
    counts = {part: np.bincount(y[idx], minlength=len(classes)) for part, idx in members.items()}
    empty = _missing_classes(counts, classes)
    if empty:
        raise ValueError("the corpus's own splits need every class in every part: " + "; ".join(empty))
    return splits


# --- summaries, saving and loading ---------------------------------------------------------

def split_parts(split):
    """The parts of one split in :data:`PARTS` order: ``["train", "val"]`` or ``["train", "val", "test"]``."""
    return [part for part in PARTS if part in split]


def split_summary(splits, labels, *, classes=None):
    """Size and class counts of every part of every split.

    Parameters
    ----------
    splits : list of dict
    labels : mapping of track id to class index (or name)
    classes : sequence of str, optional
        The class names in index order; default :data:`~mer_utils.config.LABELS`.

    Returns
    -------
    pandas.DataFrame
        Columns ``split, part, tracks`` and one count per class.
    """
    classes = LABELS if classes is None else tuple(classes)
    rows = []
    for i, split in enumerate(splits):
        for part in split_parts(split):
            y = _label_indices([labels[t] for t in split[part]], classes)
            counts = np.bincount(y, minlength=len(classes))
            rows.append({"split": i, "part": part, "tracks": len(y)} | dict(zip(classes, counts.tolist())))
    return pd.DataFrame(rows)


def save_splits(layout, splits, *, params, classes=LABELS, modalities=KINDS):
    """Write ``data/splits.json``; return its path.

    It holds what notebook 01 decided for every later notebook: ``params``
    (what made the splits), ``classes`` (the class names in label-index
    order), ``modalities`` (the inputs the run uses) and ``splits``. Written
    to a temporary name and renamed, so a kill never leaves half a file.
    """
    data = {"params": params, "classes": list(classes), "modalities": list(modalities), "splits": splits}
    return write_json(layout.splits_json, data, indent=1)


def read_run_data(layout):
    """Everything :func:`save_splits` wrote, as a dict (``params``, ``classes``, ``modalities``, ``splits``)."""
    path = layout.splits_json
    if not path.is_file():
        raise ValueError(f"no splits at {path}: run notebook 01_data for this run folder first")
    return json.loads(path.read_text(encoding="utf-8"))


def read_splits(layout):
    """The splits and parameters as saved by :func:`save_splits`, unrestricted: ``(splits, params)``."""
    saved = read_run_data(layout)
    return saved["splits"], saved.get("params", {})


def load_classes(layout):
    """The run's class names in label-index order: label ``i`` (softmax output ``i``) is ``classes[i]``.

    :data:`~mer_utils.config.LABELS` (``negative``, ``positive``) for the
    paper's binary task and for runs saved before classes were recorded.
    """
    return tuple(read_run_data(layout).get("classes", LABELS))


def load_splits(layout):
    """The saved splits restricted to the tracks still kept in the run's ledger.

    Every model of a run calls this, so all see the same tracks even after
    the mel and lyrics stages rejected a few more.

    Returns
    -------
    list of dict
        ``[{"train": [ids], "val": [ids]}, ...]``; a split of the corpus's
        own (``given``) may also have ``"test"``.

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
        for part in split_parts(split):
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


def check_classes_left(layout, *, stage):
    """Raise ``ValueError`` if ``stage``'s rejections left a class without tracks in a part of a split.

    Notebook 01 gives every class tracks in every part of every split; the
    mel and lyrics stages reject more tracks afterwards (silent or
    undecodable audio, lyrics without content words). Called at the end of
    each, once the ledger is written, so that a run stops there with the
    tracks to blame rather than failing later inside a model, or scoring a
    validation part that holds one class.

    Parameters
    ----------
    layout : RunLayout
    stage : str
        The stage that just ran (e.g. ``"02_mels"``), for the message.

    Raises
    ------
    ValueError
        Naming each part of each split left without a class (or the classes
        left without any track), with the tracks the stage rejected there and
        why.
    """
    classes = load_classes(layout)
    ledger = read_ledger(layout.tracks_csv)
    rejected_here = rejected(ledger).query("stage == @stage")
    kept = kept_tracks(ledger)
    emptied = [name for name in classes if not (kept["label"] == name).any()]
    if emptied:
        blame = _blame(rejected_here, emptied, layout.tracks_csv)
        raise ValueError(f"after {stage}, no kept track has class {', '.join(map(repr, emptied))}; every class of "
                         f"the run ({', '.join(classes)}) needs tracks. {blame}")
    label_of = dict(zip(kept["track_id"], kept["label"]))
    splits, _ = read_splits(layout)
    problems = []
    for i, split in enumerate(splits):
        for part in split_parts(split):
            present = {label_of.get(t) for t in split[part]}
            problems += [(i, part, name) for name in classes if name not in present]
    if problems:
        named = "; ".join(f"split {i} {part} has no {name!r} track" for i, part, name in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        blame = _blame(rejected_here, sorted({name for _, _, name in problems}), layout.tracks_csv)
        raise ValueError(f"after {stage}, {named}{more}: every class needs tracks in every part, as notebook 01 "
                         f"made them. {blame}")


def _blame(rejected_rows, classes, ledger_path):
    """What ``rejected_rows`` (of the ledger) say about the tracks of ``classes``, with the remedies."""
    rows = rejected_rows[rejected_rows["label"].isin(classes)]
    if rows.empty:
        return f"This stage rejected none of their tracks; the ledger ({ledger_path}) says which stage did and why."
    reasons = rows["reason"].value_counts()
    listed = ", ".join(f"{t} ({reason})" for t, reason in zip(rows["track_id"][:5], rows["reason"][:5]))
    return (f"This stage rejected {len(rows)} of their tracks ({', '.join(f'{n} {r}' for r, n in reasons.items())}), "
            f"e.g. {listed}. The first: {rows['detail'].iloc[0]}. The ledger ({ledger_path}) gives every reason. "
            f"Fix or replace those "
            f"files, change the parameter that rejects them, or leave them out of the corpus and rerun from 01.")


def label_map(layout):
    """``{track_id: label index}`` for the tracks kept in the run's ledger (index into :func:`load_classes`).

    For the paper's binary task: 1 if positive, else 0.
    """
    classes = load_classes(layout)
    index = {name: i for i, name in enumerate(classes)}
    kept = read_ledger(layout.tracks_csv).query("status == 'kept'")
    stray = sorted(set(kept["label"]) - set(index))
    if stray:
        raise ValueError(f"{layout.tracks_csv}: kept tracks have labels {stray} outside the run's classes {classes} "
                         f"({layout.splits_json}); rerun notebook 01_data")
    return dict(zip(kept["track_id"], kept["label"].map(index).tolist()))
