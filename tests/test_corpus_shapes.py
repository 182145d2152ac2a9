"""Issue 12: corpus shapes through notebook 01's steps, and each shape through notebooks 01-07 with the runner.

Shapes: audio and lyrics, audio only, lyrics only, the corpus's own splits
(train / val / test or fold numbers), and N classes from a label_map. Each
small corpus is written by :func:`messy_corpus.make_shape_corpus`.
"""

import ast
import json
import logging

import nbformat
import pandas as pd
import pytest
from messy_corpus import make_shape_corpus, write_audio

from mer_utils import accounting, config, corpus, filtering, modality, outputs, splits
from mer_utils import run as runner
from mer_utils.catalogue import (
    AUDIO_BASELINE, EARLY_FUSION, LATE_FUSION, LYRICS_BASELINE, MODELS, PRETRAINED_AUDIO, PRETRAINED_LYRICS, STACKING,
    ZERO_SHOT, modalities_needed,
)
from mer_utils.metrics import score_names
from mer_utils.paths import NOTEBOOKS_DIR, RunLayout

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
#: Notebook 01's rules for the shape corpora: 3 s clips, 40-word lyrics.
RULES = {"min_duration_s": 2.0, "min_lyrics_words": 10}


def prepare(layout, csv_path, *, modalities="auto", label_map=None, split_scheme="kfold", n_splits=2,
            balance=True, rules=RULES):
    """Notebook 01's steps, in its order: manifest, modalities, label scheme, ledger, classes, splits."""
    manifest = corpus.build_manifest("csv", corpus_path=csv_path)
    run_modalities = modality.resolve(modalities, manifest)
    splits.check_split_column(manifest, scheme=split_scheme)
    scheme = filtering.label_scheme(label_map=label_map)
    ledger = filtering.filter_tracks(manifest, scheme=scheme, modalities=run_modalities, balance=balance,
                                     seed=0, **rules)
    accounting.write_ledger(ledger, layout.tracks_csv)
    kept = accounting.kept(ledger)
    classes = filtering.run_classes(ledger, scheme)
    made = splits.make_splits(kept["track_id"], kept["label"], scheme=split_scheme, n_splits=n_splits, seed=0,
                              classes=classes, given=kept["split"].tolist() if split_scheme == "given" else None)
    splits.save_splits(layout, made, params={"scheme": split_scheme}, classes=classes, modalities=run_modalities)
    return ledger


def quadrant_map():
    return {q: q for q in QUADRANTS}


# --- the shapes -----------------------------------------------------------------------------

def test_both_modalities_keep_todays_rules(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=4)
    (tmp_path / "c" / "lyrics" / "positive-00.txt").unlink()
    ledger = prepare(layout, csv_path, modalities="both").set_index("track_id")
    assert ledger.at["positive-00", "reason"] == "missing_lyrics"
    assert modality.load(layout) == ("audio", "lyrics")
    assert splits.load_classes(layout) == config.LABELS
    assert (ledger["status"] == "kept").sum() == 6  # 3 + 3 after balancing


def test_audio_only_corpus_uses_the_audio_rules_alone(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=4, lyrics=False)
    assert "lyrics" not in (tmp_path / "c" / "metadata.csv").read_text().splitlines()[0]
    write_audio(tmp_path / "c" / "audio" / "negative-00.wav", 1.0)  # too short: audio rules still apply
    ledger = prepare(layout, csv_path).set_index("track_id")
    assert ledger.at["negative-00", "reason"] == "too_short"
    assert not ledger["reason"].isin(["missing_lyrics", "too_few_words"]).any()
    assert modality.load(layout) == ("audio",)
    kept = ledger[ledger["status"] == "kept"]
    assert kept["label"].value_counts().to_dict() == {"negative": 3, "positive": 3}
    assert sorted(t for s in splits.load_splits(layout) for t in s["val"]) == sorted(kept.index)


def test_lyrics_only_corpus_needs_no_audio_file(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=4, audio=False)
    (tmp_path / "c" / "lyrics" / "positive-03.txt").write_text("too few words here")
    ledger = prepare(layout, csv_path).set_index("track_id")
    assert ledger.at["positive-03", "reason"] == "too_few_words"
    assert not ledger["reason"].isin(["missing_audio", "unreadable_audio", "too_short"]).any()
    assert (ledger["audio_path"] == "").all()
    assert modality.load(layout) == ("lyrics",)
    assert (ledger["status"] == "kept").sum() == 6


def test_a_both_corpus_can_run_one_modality(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=4)
    (tmp_path / "c" / "lyrics" / "positive-00.txt").unlink()  # irrelevant to an audio run
    ledger = prepare(layout, csv_path, modalities="audio")
    assert (ledger["status"] == "kept").sum() == 8 and modality.load(layout) == ("audio",)


def test_four_classes_from_a_label_map_are_balanced_and_stratified(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", classes=QUADRANTS, n_per_class=[7, 6, 9, 6])
    ledger = prepare(layout, csv_path, label_map=quadrant_map(), n_splits=3)
    kept = ledger[ledger["status"] == "kept"]
    assert kept["label"].value_counts().to_dict() == dict.fromkeys(QUADRANTS, 6)
    out = ledger[ledger["reason"] == "balanced_out"]
    assert out["label"].value_counts().to_dict() == {"Q1": 1, "Q3": 3}
    assert "7 Q1, 6 Q2, 9 Q3, 6 Q4 passed, 6 of each kept" in out["detail"].iloc[0]
    assert splits.load_classes(layout) == QUADRANTS
    labels = splits.label_map(layout)
    assert {labels[t] for t in kept["track_id"]} == {0, 1, 2, 3}
    assert all(labels[t] == QUADRANTS.index(label) for t, label in zip(kept["track_id"], kept["label"]))
    summary = splits.split_summary(splits.load_splits(layout), labels, classes=QUADRANTS)
    assert list(summary.columns) == ["split", "part", "tracks", *QUADRANTS]
    assert (summary.loc[summary["part"] == "val", list(QUADRANTS)] == 2).all().all()  # 6 per class over 3 folds


def test_several_tags_per_class_in_either_form(tmp_path, layout):
    by_tag = {"Q1": "bright", "Q2": "bright", "Q3": "dark", "Q4": "dark"}
    by_class = {"bright": ["q1", "Q2"], "dark": ["Q3", "q4"]}  # whole tags, case-insensitive
    csv_path = make_shape_corpus(tmp_path / "c", classes=QUADRANTS, n_per_class=3, audio=False)
    first = prepare(layout, csv_path, label_map=by_tag, balance=False)
    assert splits.load_classes(layout) == ("bright", "dark")
    second = prepare(layout, csv_path, label_map=by_class, balance=False)
    assert first["label"].tolist() == second["label"].tolist() == ["bright"] * 6 + ["dark"] * 6


def test_given_train_val_test_parts_are_used_as_they_are(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=5, audio=False, split="parts")
    ledger = prepare(layout, csv_path, split_scheme="given")
    assert ledger.set_index("track_id").at["positive-03", "split"] == "val"  # the ledger records each part
    assert accounting.read_ledger(layout.tracks_csv)["split"].tolist() == ledger["split"].tolist()
    (split,) = splits.load_splits(layout)
    for part in ("train", "val", "test"):
        assert split[part] == ledger.loc[ledger["split"] == part, "track_id"].tolist()
    assert list(split) == ["train", "val", "test"]


def test_given_fold_numbers_make_one_split_per_fold(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", classes=QUADRANTS, n_per_class=6, lyrics=False, split="folds")
    ledger = prepare(layout, csv_path, label_map=quadrant_map(), split_scheme="given")
    loaded = splits.load_splits(layout)
    assert len(loaded) == 3
    for fold, split in enumerate(loaded, start=1):
        assert split["val"] == ledger.loc[ledger["split"] == str(fold), "track_id"].tolist()
        assert sorted(split["train"] + split["val"]) == sorted(ledger["track_id"])
    assert splits.read_splits(layout)[1] == {"scheme": "given"}


def test_the_binary_default_is_unchanged(tmp_path, layout):
    """The paper's scheme through the new code: same classes, same 0/1 labels, same splits as make_splits alone."""
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=[10, 12], audio=False)
    ledger = prepare(layout, csv_path, split_scheme="shuffle", n_splits=3)
    kept = accounting.kept(ledger)
    assert splits.load_splits(layout) == splits.make_splits(kept["track_id"], kept["label"], n_splits=3, seed=0)
    assert set(splits.label_map(layout).values()) == {0, 1}
    assert splits.label_map(layout)["positive-00"] == 1
    assert json.loads(layout.splits_json.read_text())["classes"] == ["negative", "positive"]


# --- bad input ----------------------------------------------------------------------------------

def test_a_class_with_too_few_tracks_is_named_with_its_count(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", classes=QUADRANTS, n_per_class=[4, 4, 4, 2], audio=False)
    with pytest.raises(ValueError, match=r"too few tracks per class for kfold splits \(n_splits=3.*\): 2 Q4; "
                                         r"each class needs at least 3"):
        prepare(layout, csv_path, label_map=quadrant_map(), n_splits=3, balance=False)


def test_a_label_map_class_no_track_reaches_is_a_warning(tmp_path, layout, caplog):
    csv_path = make_shape_corpus(tmp_path / "c", classes=QUADRANTS[:3], n_per_class=4, audio=False)
    with caplog.at_level(logging.WARNING, logger="mer_utils.filtering"):
        ledger = prepare(layout, csv_path, label_map=quadrant_map())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["class 'Q4' of the label_map is reached by no track (no track has its tags ['q4']): "
                        "it is left out of the run"]
    assert splits.load_classes(layout) == QUADRANTS[:3]
    assert (ledger["status"] == "kept").sum() == 12


def test_a_run_needs_two_classes(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", classes=("positive",), n_per_class=4, audio=False)
    with pytest.raises(ValueError, match=r"at least two classes; kept tracks per class of the polarity "
                                         r"dictionary: 0 negative, 4 positive"):
        prepare(layout, csv_path)


def test_a_requested_modality_absent_for_every_track_names_the_column(tmp_path):
    audio_only = corpus.from_csv(make_shape_corpus(tmp_path / "a", lyrics=False))
    with pytest.raises(ValueError, match=r"modalities 'lyrics': the corpus gives no lyrics for any of its 12 "
                                         r"tracks; fill the column 'lyrics_path' \(files\) or 'lyrics'"):
        modality.resolve("lyrics", audio_only)
    lyrics_only = corpus.from_csv(make_shape_corpus(tmp_path / "l", audio=False))
    with pytest.raises(ValueError, match="gives no audio for any of its 12 tracks; fill the column 'audio_path'"):
        modality.resolve("audio", lyrics_only)
    nothing = lyrics_only.assign(lyrics_path="")
    with pytest.raises(ValueError, match="gives neither audio nor lyrics for any of its 12 tracks"):
        modality.resolve("auto", nothing)


def test_both_on_a_one_modality_corpus_suggests_auto(tmp_path):
    audio_only = corpus.from_csv(make_shape_corpus(tmp_path / "a", lyrics=False))
    with pytest.raises(ValueError, match=r"modalities 'both', but the corpus gives no lyrics for any of its 12 "
                                         r"tracks .*; use modalities: auto to run on its audio alone"):
        modality.resolve("both", audio_only)
    assert modality.resolve("auto", audio_only) == ("audio",)
    with pytest.raises(ValueError, match="unknown modalities 'video'"):
        modality.resolve("video", audio_only)


def given_corpus(tmp_path, cells):
    """A lyrics-only two-class corpus with split cells ``cells`` (track id -> value) replacing the generated ones."""
    csv_path = make_shape_corpus(tmp_path / "c", n_per_class=5, audio=False, split="parts")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    for track_id, value in cells.items():
        if track_id in set(table["track_id"]):
            table.loc[table["track_id"] == track_id, "split"] = value
        else:  # a second row for an existing id
            original = track_id.split("@")[0]
            table = pd.concat([table, table[table["track_id"] == original].assign(split=value)])
    table.to_csv(csv_path, index=False)
    return csv_path


@pytest.mark.parametrize("cells, message", [
    ({"positive-01": "dev", "negative-02": ""},
     r"unknown split values \(use train, val, test or a fold number\): track 'negative-02' has '', "
     r"track 'positive-01' has 'dev'"),
    ({"positive-00@again": "test"}, r"tracks listed in two parts .*: track 'positive-00' is in train and test"),
    ({"positive-00": "1"}, r"mixes fold numbers and train / val / test: .*track 'positive-00' has '1'"),
    ({"positive-03": "train"}, r"class 'positive' has no track in val \(train: 4, val: 0, test: 1\)"),
    ({"negative-03": "train", "positive-03": "train"}, r"have no val track .*given splits need train and val"),
])
def test_given_splits_are_validated_with_their_tracks(tmp_path, layout, cells, message):
    csv_path = given_corpus(tmp_path, cells)
    with pytest.raises(ValueError, match=message):
        prepare(layout, csv_path, split_scheme="given")


def test_given_splits_without_a_split_column_say_what_to_fill(tmp_path, layout):
    csv_path = make_shape_corpus(tmp_path / "c", audio=False)
    with pytest.raises(ValueError, match="no track has a split: fill it with train / val / test or fold numbers"):
        prepare(layout, csv_path, split_scheme="given")


def test_given_splits_with_one_fold_or_grouping_are_refused(tmp_path):
    ids, labels = ["a", "b", "c", "d"], [0, 1, 0, 1]
    with pytest.raises(ValueError, match="one fold"):
        splits.make_splits(ids, labels, scheme="given", given=["1"] * 4)
    with pytest.raises(ValueError, match="group_by_artist does not apply"):
        splits.make_splits(ids, labels, scheme="given", given=["1", "1", "2", "2"], groups=["x"] * 4)
    assert splits.make_splits(ids, labels, scheme="given", given=["2", "1", "1", "2"]) == [
        {"train": ["a", "d"], "val": ["b", "c"]}, {"train": ["b", "c"], "val": ["a", "d"]}]


@pytest.mark.parametrize("label_map, message", [
    ({"Q1": "A", "q1": "B"}, "label_map gives tag 'q1' two classes: 'A' and 'B'"),
    ({"Q1": "A", "Q2": "A"}, r"label_map names 1 class \('A'\); a classification needs at least two"),
    ({"A": ["Q1"], "Q2": "B"}, "mixes tag: class entries and class: \\[tags\\] entries"),
    ({"Q1": ""}, "must be non-empty texts"),
    (["Q1", "Q2"], "must be a non-empty mapping"),
])
def test_bad_label_maps_are_refused(label_map, message):
    with pytest.raises(ValueError, match=message):
        filtering.label_scheme(label_map=label_map)


def test_conflicting_tags_of_a_label_map_are_rejected_as_today(tmp_path):
    scheme = filtering.label_scheme(label_map={"Q1": "Q1", "Q2": "Q2", "calm": "Q4"})
    assert filtering.tag_class("q2|rock", scheme=scheme) == "Q2"
    with pytest.raises(accounting.Rejected) as info:
        filtering.tag_class("Q1|Calm", scheme=scheme, name="track 'x'")
    assert (info.value.reason, info.value.detail) == ("conflicting_tags", "track 'x' has Q1 tags ['Q1'] and Q4 tags ['Calm']")
    with pytest.raises(accounting.Rejected, match="none in the label_map") as info:
        filtering.tag_class("rock", scheme=scheme)
    with pytest.raises(ValueError, match="either a label_map or positive_tags"):
        filtering.label_scheme(label_map={"Q1": "Q1", "Q2": "Q2"}, positive_tags=["happy"])


# --- parameters -----------------------------------------------------------------------------------

def test_notebook_01_declares_the_new_parameters_with_configs_defaults():
    defaults = {name: ast.literal_eval(info["default"])
                for name, info in runner.declared_parameters(NOTEBOOKS_DIR / "01_data.ipynb").items()}
    assert defaults["modalities"] == config.MODALITIES
    assert defaults["label_map"] == dict(config.LABEL_MAP) == {}
    assert config.PARAMETER_RANGES["modalities"] == modality.CHOICES
    assert "given" in config.PARAMETER_RANGES["split_scheme"]


def test_the_runner_checks_modalities_and_accepts_a_label_map():
    declared = {nb.stem: runner.declared_parameters(nb) for nb in runner.discover_notebooks()}
    profile = {"parameters": {"modalities": "video", "label_map": {"Q1": "Q1"}, "split_scheme": "given"},
               "variants": {}}
    assert runner.parameter_problems(profile, declared) == ["modalities='video': must be one of auto, audio, lyrics, both"]
    profile["parameters"]["label_map"] = ["Q1"]
    assert runner.parameter_problems(profile, declared)[1].startswith("label_map=['Q1']: must be a mapping")


# --- notebooks 02 and 03 skip a modality the run lacks ----------------------------------------------

def test_skip_rest_unless_goes_on_or_logs_why_not(tmp_path, layout, caplog):
    splits.save_splits(layout, [], params={}, modalities=("lyrics",))
    assert modality.missing(layout, "lyrics") == [] and modality.missing(layout, "audio", "lyrics") == ["audio"]
    with caplog.at_level(logging.INFO, logger="mer_utils.modality"):
        modality.skip_rest_unless(layout, "lyrics", doing="tagging")
        assert not caplog.records
        modality.skip_rest_unless(layout, "audio", "lyrics", doing="training the fused model")
    assert caplog.records[-1].getMessage().startswith(
        "Skipped: training the fused model needs audio, and this run has lyrics only")
    with pytest.raises(ValueError, match="needed modalities must be among"):
        modality.missing(layout, "video")


def shape_profile(csv_path, **parameters):
    """A profile for notebooks 01-07 on a shape corpus: tiny clips (120 frames, the fewest the audio CNN's pools
    take), one worker, one epoch of batches of 8: the plumbing of every stage, in seconds."""
    return {"name": "shape", "description": "", "cell_timeout_s": 300, "variants": {},
            "parameters": {"corpus": "csv", "corpus_path": str(csv_path), **RULES, "split_scheme": "kfold",
                           "n_splits": 2, "sample_rate": 8000, "clip_seconds": 2.0, "n_mels": 16, "n_frames": 120,
                           "n_fft": 256, "n_workers": 1, "vocab_size": 200, "max_len": 50, "epochs": 1,
                           "patience": 0, "batch_size": 8, **parameters}}


def code_cells(path):
    """The code cells of an executed notebook."""
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def code_outputs(path):
    """The text each code cell of an executed notebook printed (streams, and the markdown it displayed)."""
    return ["".join(o.get("text", "") or o.get("data", {}).get("text/markdown", "") for o in cell.outputs)
            for cell in code_cells(path)]


def assert_skipped(path, lacking):
    """The notebook's set-up cell says why it is skipped, and every later cell only says it is."""
    outputs = code_outputs(path)
    set_up = next(i for i, text in enumerate(outputs) if "Skipped: " in text)
    assert f"needs {lacking}" in outputs[set_up]
    assert outputs[set_up + 1:] and all(text == f"(skipped: this run has no {lacking})\n"
                                        for text in outputs[set_up + 1:])


#: Notebook 08 kept to its pretrained rows: no network retrained, no repeated folds; 3.5 s clips hold one musicnn patch.
BEYOND_CHEAP = {"nested_models": [], "repeats": 0, "clip_seconds": 3.5}
#: Shape -> (make_shape_corpus options, profile parameters, the modality it lacks, classes, parts of a split).
#: Together they cover every shape of issue 12: audio only, lyrics only, the corpus's own splits (fold numbers,
#: train / val / test) and four classes (on one modality and on both: the fused model's four-way softmax).
#: Each trains one model per modality (the CNNs), and the fused model where both modalities are.
RUN_SHAPES = {
    "audio_only_four_classes_given_folds": (
        {"classes": QUADRANTS, "n_per_class": 4, "split": "folds", "n_folds": 2, "seconds": 3.5},
        {"label_map": quadrant_map(), "split_scheme": "given", **BEYOND_CHEAP}, "lyrics", QUADRANTS, ["train", "val"]),
    "lyrics_only_two_classes": ({"n_per_class": 6}, {}, "audio", config.LABELS, ["train", "val"]),
    "both_four_classes_given_parts": (
        {"classes": QUADRANTS, "n_per_class": 4, "split": "parts", "seconds": 3.5},
        {"label_map": quadrant_map(), "split_scheme": "given", **BEYOND_CHEAP},
        None, QUADRANTS, ["train", "val", "test"]),
}
#: The shapes that also run notebook 08 on four classes (with BEYOND_CHEAP), and the rows it gives them: all but
#: the zero-shot one (two classes only); with one modality, that modality's row alone.
BEYOND_ROWS = {"audio_only_four_classes_given_folds": [PRETRAINED_AUDIO],
               "both_four_classes_given_parts": [PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION,
                                                 STACKING]}
#: The models a shape run trains (the profile's audio_models and lyrics_models), by modality.
SHAPE_MODELS = {"audio": ["audio_cnn"], "lyrics": ["lyrics_cnn"]}


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(RUN_SHAPES))
def test_each_corpus_shape_runs_notebooks_01_to_07(tmp_path, monkeypatch, shape):
    """Every stage and model that applies runs; the others finish at once with their note; 07 reports what ran.

    The four-class shapes run notebook 08's pretrained rows too.

    Smoke-sized (16 or 12 tracks, one epoch, the CNNs): 35-70 s a shape on 2 cores, most of it starting kernels
    and tracing TensorFlow graphs.
    """
    corpus_options, parameters, lacking, classes, parts = RUN_SHAPES[shape]
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))
    csv_path = make_shape_corpus(tmp_path / "c", audio=lacking != "audio", lyrics=lacking != "lyrics", **corpus_options)
    profile = shape_profile(csv_path, audio_models=["cnn"], lyrics_models=["cnn"], **parameters)
    run_dir = runner.execute(profile, run_id="t", runs_dir=tmp_path / "runs",
                             only={"01", "02", "03", "04", "05", "06", "07", *(["08"] if shape in BEYOND_ROWS else [])},
                             log=lambda *_: None)
    layout = RunLayout(run_dir)
    assert splits.load_classes(layout) == classes
    assert list(splits.load_splits(layout)[0]) == parts

    # 02-06: the stages of the missing modality finish at once with their note, computing and training nothing
    if lacking:
        for notebook in ("02_mels" if lacking == "audio" else "03_lyrics",
                         "04_audio_model" if lacking == "audio" else "05_lyrics_model", "06_fused_model"):
            assert_skipped(run_dir / f"{notebook}.ipynb", lacking)
    assert (layout.data_dir / "mels.csv").exists() == (lacking != "audio")
    assert (layout.data_dir / "tokens.json").exists() == (lacking != "lyrics")
    assert (layout.figures_dir / "02_class_spectra.png").is_file() == (lacking != "audio")
    assert (layout.figures_dir / "03_class_words.png").is_file() == (lacking != "lyrics")
    trained = [m for kind, names in SHAPE_MODELS.items() if kind != lacking for m in names] + ([] if lacking else ["fused"])
    baselines = [b for b, kind in ((AUDIO_BASELINE, "audio"), (LYRICS_BASELINE, "lyrics")) if kind != lacking]
    every_model = trained + baselines + BEYOND_ROWS.get(shape, [])
    assert sorted(p.name for p in layout.models_dir.iterdir()) == sorted(every_model)

    # every model's outputs follow the classes: one probability column per class (or prob_positive)
    for name in trained + baselines:
        predictions = pd.read_csv(layout.model_dir(name, 0) / "predictions.csv")
        assert list(predictions.columns) == list(outputs.prediction_columns(classes)), name
        assert list(json.loads((layout.model_dir(name, 0) / "metrics.json").read_text())) == \
            list(score_names(len(classes))), name

    # 07: Table 1 lists the models that ran; the absent ones are named with the reason
    table = pd.read_csv(layout.results_dir / "table1.csv")
    order = [m.name for m in MODELS]
    assert table["name"].tolist() == sorted(trained + baselines, key=order.index)
    assert ("f1" in table.columns) == (len(classes) == 2) and ("macro_f1" in table.columns) == (len(classes) > 2)
    assert table["paper_accuracy"].isna().all() == (len(classes) > 2)
    absent = {m: (f"no {lacking} in this run" if lacking in modalities_needed(m) else "not trained in this run")
              for m in order if m not in trained + baselines}
    assert json.loads((layout.results_dir / "summary.json").read_text())["absent"] == absent
    shown = "".join(code_outputs(run_dir / "07_results.ipynb"))
    assert "Not in the table: `audio_rnn`, `audio_cnn_rnn`" in shown if lacking != "audio" else "`audio_cnn`" in shown
    if lacking:
        assert f"because this run has {'audio' if lacking == 'lyrics' else 'lyrics'} only (no {lacking} in this run)" \
            in shown
    for figure in ("figure2", "07_accuracy_summary", "07_confusion_matrices", "07_roc_curves"):
        assert (layout.figures_dir / f"{figure}.png").stat().st_size > 1000, figure
    if shape in BEYOND_ROWS:
        assert_beyond_rows_follow_the_classes(layout, classes, BEYOND_ROWS[shape])


def assert_beyond_rows_follow_the_classes(layout, classes, rows):
    """08 on more than two classes: its ``rows``, one probability per class, in its table."""
    for name in rows:
        predictions = pd.read_csv(layout.model_dir(name, 0) / "predictions.csv")
        assert list(predictions.columns) == list(outputs.prediction_columns(classes)), name
    assert not layout.model_dir(ZERO_SHOT, 0).exists()
    account = pd.read_csv(layout.feature_account_csv)
    assert (account["status"] == "computed").all(), "3.5 s clips hold a musicnn patch"
    extended = pd.read_csv(layout.results_dir / "table1_extended.csv")
    assert set(rows) <= set(extended["name"]) and "macro_f1" in extended.columns


def test_the_readmes_example_corpora_pass_notebook_01(tmp_path):
    """mer_utils.demo.shapes: one CSV per shape from the (smoke-sized) demo corpus, each through 01's steps."""
    shapes = pytest.importorskip("mer_utils.demo.shapes")
    written = shapes.write_shapes(tmp_path / "shapes", n_tracks=60, seed=2017)
    expected = {  # shape -> (parameters, modalities, classes)
        "both": ({}, ("audio", "lyrics"), config.LABELS),
        "audio_only": ({}, ("audio",), config.LABELS),
        "lyrics_only": ({}, ("lyrics",), config.LABELS),
        "given_splits": ({"split_scheme": "given"}, ("audio", "lyrics"), config.LABELS),
        "four_classes": ({"label_map": {c: c for c in shapes.FOUR_CLASSES}}, ("audio", "lyrics"), shapes.FOUR_CLASSES),
    }
    assert set(written) == set(expected)
    reasons = {}
    for name, (parameters, modalities, classes) in expected.items():
        layout = RunLayout(tmp_path / name)
        ledger = prepare(layout, written[name], split_scheme=parameters.get("split_scheme", "kfold"),
                         label_map=parameters.get("label_map"), n_splits=3, rules={})  # the paper's rules
        assert (modality.load(layout), splits.load_classes(layout)) == (modalities, classes), name
        reasons[name] = set(ledger["reason"])
    lyrics_reasons, audio_reasons = {"missing_lyrics", "too_few_words"}, {"unreadable_audio", "too_short"}
    assert reasons["both"] >= lyrics_reasons | audio_reasons  # the demo corpus's planted defects
    assert not reasons["audio_only"] & lyrics_reasons and reasons["audio_only"] >= audio_reasons
    assert not reasons["lyrics_only"] & audio_reasons and reasons["lyrics_only"] >= lyrics_reasons
    assert list(splits.load_splits(RunLayout(tmp_path / "given_splits"))[0]) == ["train", "val", "test"]
    assert "--set split_scheme=given" in shapes.commands(written)["given_splits"]
