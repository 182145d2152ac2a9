"""Train / validation splits: stratified, disjoint, seeded, grouped; restricted to kept tracks on load."""

import json
import unicodedata

import numpy as np
import pandas as pd
import pytest

from mer_utils import accounting, filtering, mels
from mer_utils.splits import check_classes_left, check_split_column, label_map, load_splits, make_splits, read_splits, save_splits, split_summary

IDS = [f"t{i:03d}" for i in range(200)]
LABELS = [int(i % 4 == 0 or i % 4 == 1) for i in range(200)]  # 100 / 100
ARTISTS = [f"artist{i // 4}" for i in range(200)]  # 50 artists, 4 songs each, both classes


def positive_share(ids):
    labels = dict(zip(IDS, LABELS))
    return np.mean([labels[t] for t in ids])


@pytest.mark.parametrize("scheme", ["shuffle", "kfold"])
def test_splits_are_disjoint_complete_and_stratified(scheme):
    splits = make_splits(IDS, LABELS, scheme=scheme, n_splits=5, val_fraction=0.1, seed=7)
    assert len(splits) == 5
    for split in splits:
        assert not set(split["train"]) & set(split["val"])
        assert set(split["train"]) | set(split["val"]) == set(IDS)
        assert positive_share(split["val"]) == 0.5
        assert split["train"] == sorted(split["train"])  # input order kept
    val_size = 20 if scheme == "shuffle" else 40
    assert [len(s["val"]) for s in splits] == [val_size] * 5


def test_kfold_validates_every_track_once():
    splits = make_splits(IDS, LABELS, scheme="kfold", n_splits=4, seed=0)
    validated = [t for s in splits for t in s["val"]]
    assert sorted(validated) == IDS


def test_shuffle_splits_differ_from_each_other():
    splits = make_splits(IDS, LABELS, seed=0)
    assert len({tuple(s["val"]) for s in splits}) == 5


def test_splits_are_seeded():
    assert make_splits(IDS, LABELS, seed=3) == make_splits(IDS, LABELS, seed=3)
    assert make_splits(IDS, LABELS, seed=3) != make_splits(IDS, LABELS, seed=4)


def test_label_names_work_like_integers():
    names = ["positive" if y else "negative" for y in LABELS]
    assert make_splits(IDS, names, seed=1) == make_splits(IDS, LABELS, seed=1)


@pytest.mark.parametrize("scheme", ["shuffle", "kfold"])
def test_grouped_splits_keep_an_artist_on_one_side(scheme):
    splits = make_splits(IDS, LABELS, scheme=scheme, n_splits=5, val_fraction=0.1, seed=2, groups=ARTISTS)
    artist = dict(zip(IDS, ARTISTS))
    for split in splits:
        train_artists = {artist[t] for t in split["train"]}
        val_artists = {artist[t] for t in split["val"]}
        assert not train_artists & val_artists
        assert set(split["train"]) | set(split["val"]) == set(IDS)
        assert 0.3 <= positive_share(split["val"]) <= 0.7
    if scheme == "shuffle":
        assert all(12 <= len(s["val"]) <= 28 for s in splits)
        assert len({tuple(s["val"]) for s in splits}) == 5


def test_unknown_artists_are_groups_of_their_own():
    groups = [""] * len(IDS)
    splits = make_splits(IDS, LABELS, scheme="kfold", n_splits=5, seed=0, groups=groups)
    assert all(len(s["val"]) == 40 for s in splits)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scheme="bootstrap"), "unknown split scheme 'bootstrap'"),
    (dict(n_splits=0), "n_splits must be an integer >= 1"),
    (dict(scheme="kfold", n_splits=1), "n_splits must be an integer >= 2"),
    (dict(val_fraction=1.0), "val_fraction must be between 0 and 1"),
    (dict(val_fraction=0), "val_fraction must be between 0 and 1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_splits(IDS, LABELS, seed=0, **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="200 track ids but 199 labels"):
        make_splits(IDS, LABELS[:-1], seed=0)
    with pytest.raises(ValueError, match="duplicate track ids"):
        make_splits(IDS[:-1] + IDS[:1], LABELS, seed=0)
    with pytest.raises(ValueError, match="labels must be 0/1"):
        make_splits(IDS, [2] * 200, seed=0)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        make_splits(IDS, LABELS, seed=0, groups=["a", "b", "c"])


def test_too_few_tracks_per_class_is_explained():
    ids, labels = IDS[:30], [1] * 25 + [0] * 5
    with pytest.raises(ValueError, match="too few tracks per class.*5 negative.*at least 10"):
        make_splits(ids, labels, seed=0)
    with pytest.raises(ValueError, match="5 negative.*at least 6"):
        make_splits(ids, labels, scheme="kfold", n_splits=6, seed=0)
    with pytest.raises(ValueError, match="only 3 distinct groups"):
        make_splits(IDS, LABELS, scheme="kfold", n_splits=5, seed=0, groups=[f"a{i % 3}" for i in range(200)])


def test_split_summary():
    splits = make_splits(IDS, LABELS, seed=0, n_splits=2)
    summary = split_summary(splits, dict(zip(IDS, LABELS)))
    assert summary[["split", "part", "tracks", "positive", "negative"]].values.tolist() == [
        [0, "train", 180, 90, 90], [0, "val", 20, 10, 10], [1, "train", 180, 90, 90], [1, "val", 20, 10, 10]]


# --- saving and loading through the run folder ------------------------------------------------

def write_ledger(layout, rejected=()):
    """A ledger of IDS, kept with their labels except ``rejected`` (by 02_mels)."""
    ledger = pd.DataFrame({c: "" for c in accounting.LEDGER_COLUMNS}, index=range(len(IDS)))
    ledger["track_id"] = IDS
    ledger["label"] = ["positive" if y else "negative" for y in LABELS]
    ledger["status"] = "kept"
    ledger["stage"] = filtering.STAGE
    ledger = accounting.apply_rejections(
        ledger, [accounting.Rejected("silent_audio", "silence", track_id=t) for t in rejected], stage=mels.STAGE)
    accounting.write_ledger(ledger, layout.tracks_csv)


def test_save_and_load_round_trip(layout):
    write_ledger(layout)
    splits = make_splits(IDS, LABELS, seed=0)
    path = save_splits(layout, splits, params={"scheme": "shuffle", "seed": 0})
    assert json.loads(path.read_text())["params"] == {"scheme": "shuffle", "seed": 0}
    assert not list(layout.data_dir.glob("*.tmp"))
    assert load_splits(layout) == splits
    assert read_splits(layout) == (splits, {"scheme": "shuffle", "seed": 0})


def test_load_splits_drops_tracks_rejected_later(layout):
    splits = make_splits(IDS, LABELS, seed=0, n_splits=3)
    gone = {splits[0]["val"][0], splits[0]["train"][0]}
    write_ledger(layout, rejected=gone)
    save_splits(layout, splits, params={})
    loaded = load_splits(layout)
    for original, restricted in zip(splits, loaded):
        for part in ("train", "val"):
            assert restricted[part] == [t for t in original[part] if t not in gone]
    assert len(loaded[0]["val"]) == len(splits[0]["val"]) - 1


def test_label_map_covers_kept_tracks_only(layout):
    write_ledger(layout, rejected={"t000"})
    save_splits(layout, make_splits(IDS, LABELS, seed=0), params={})
    labels = label_map(layout)
    assert "t000" not in labels and len(labels) == 199
    assert labels["t001"] == 1 and labels["t002"] == 0


def test_load_splits_errors(layout):
    with pytest.raises(ValueError, match="run notebook 01_data"):
        load_splits(layout)
    write_ledger(layout)
    save_splits(layout, [{"train": ["t001", "stranger"], "val": ["t002"]}], params={})
    with pytest.raises(ValueError, match="missing from the ledger.*stranger"):
        load_splits(layout)
    write_ledger(layout, rejected={"t002"})
    save_splits(layout, [{"train": ["t001"], "val": ["t002"]}], params={})
    with pytest.raises(ValueError, match="no val track left"):
        load_splits(layout)


def test_a_stage_that_empties_a_class_from_a_part_stops_the_run_naming_the_tracks(layout):
    splits = [{"train": ["t000", "t001", "t002", "t003"], "val": ["t004", "t005", "t006"]}]  # val: + + -
    save_splits(layout, splits, params={}, classes=("negative", "positive"))
    write_ledger(layout, rejected={"t000"})  # a positive training track: both classes stay everywhere
    check_classes_left(layout, stage=mels.STAGE)
    write_ledger(layout, rejected={"t004", "t005"})  # both positive validation tracks
    with pytest.raises(ValueError, match=r"after 02_mels, split 0 val has no 'positive' track: .*"
                                         r"This stage rejected 2 of their tracks \(2 silent_audio\), "
                                         r"e\.g\. t004 \(silent_audio\), t005 \(silent_audio\)\. The first: silence"):
        check_classes_left(layout, stage=mels.STAGE)
    with pytest.raises(ValueError, match="after 03_lyrics, split 0 val .* This stage rejected none of their tracks"):
        check_classes_left(layout, stage="03_lyrics")  # not this stage's doing: still stops, without blaming it
    positives = [t for t, y in zip(IDS, LABELS) if y]
    write_ledger(layout, rejected=set(positives))
    with pytest.raises(ValueError, match=r"no kept track has class 'positive'; every class of the run "
                                         r"\(negative, positive\) needs tracks\. This stage rejected 100"):
        check_classes_left(layout, stage=mels.STAGE)


def test_a_split_column_is_checked_when_given_and_otherwise_ignored_with_a_warning(caplog):
    manifest = pd.DataFrame({"track_id": ["a", "b", "c"], "split": ["train", "val", ""]})
    with caplog.at_level("WARNING", logger="mer_utils.splits"):
        check_split_column(manifest, scheme="shuffle")
    assert "gives a split for 2 of its 3 tracks; split_scheme='shuffle' makes new splits" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="mer_utils.splits"):
        check_split_column(manifest.assign(split=""), scheme="kfold")
    assert not caplog.text
    with pytest.raises(ValueError, match="'c'"):
        check_split_column(manifest, scheme="given")


# --- grouped splits: every class on both sides ------------------------------------------------

def one_artist_class():
    """Classes a and b with 30 artists each; class c: 10 tracks by one artist."""
    ids = [f"{c}{i}" for c, n in (("a", 30), ("b", 30), ("c", 10)) for i in range(n)]
    labels = [t[0] for t in ids]
    groups = [f"{t}-artist" if t[0] != "c" else "solo" for t in ids]
    return ids, labels, groups


@pytest.mark.parametrize("scheme, needed, remedy", [
    ("kfold", 5, "lower n_splits"),
    ("shuffle", 10, "raise val_fraction"),
])
def test_grouped_splits_need_enough_artists_per_class(scheme, needed, remedy):
    ids, labels, groups = one_artist_class()
    with pytest.raises(ValueError) as info:
        make_splits(ids, labels, scheme=scheme, n_splits=5, val_fraction=0.1, seed=0, groups=groups,
                    classes=("a", "b", "c"))
    message = str(info.value)
    assert f"class 'c' has 10 tracks by 1 artist; grouped {scheme} splits need at least {needed}" in message
    assert remedy in message and "group_by_artist: false" in message
    assert "class 'a'" not in message


def test_grouped_splits_that_leave_a_class_out_of_a_part_raise():
    """Class c has 5 artists for 5 folds, but they also sing class-a songs and the group k-fold puts two together."""
    labels = ["a"] * 40 + ["b"] * 40 + ["c"] * 10
    ids = [f"t{i}" for i in range(len(labels))]
    # artist of each track (hex digit), found by a seeded search: seed 0 leaves class c out of split 2's val
    groups = list("4d86925473a8c35b4e8a1d5ab12eac3e1d744aebba2eb13320243955198611eaa364d77adb66c36d2401000403")
    with pytest.raises(ValueError, match=r"grouped kfold split 2: class 'c' has no track in val "
                                         r"\(train: 10, val: 0\).*lower n_splits.*group_by_artist: false"):
        make_splits(ids, labels, scheme="kfold", n_splits=5, seed=0, groups=groups, classes=("a", "b", "c"))


def test_an_artist_spelled_two_ways_is_one_group():
    """'IU', ' iu ' and a decomposed (NFD) Hangul name are the same artist: never on both sides of a split."""
    names = [f"가수{i}" if i % 2 else f"Singer{i}" for i in range(50)]
    spellings = (str, str.upper, lambda n: f" {n.lower()} ", lambda n: unicodedata.normalize("NFD", n))
    artists = [spellings[i % 4](names[i // 4]) for i in range(200)]
    for scheme in ("shuffle", "kfold"):
        for split in make_splits(IDS, LABELS, scheme=scheme, n_splits=5, seed=1, groups=artists):
            sides = [{names[IDS.index(t) // 4] for t in split[part]} for part in ("train", "val")]
            assert not sides[0] & sides[1], scheme
