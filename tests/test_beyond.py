"""Notebook 08's rows: pretrained features + logistic regression, fusions, never tuned on the scored fold."""

import types
import warnings

import numpy as np
import pandas as pd
import pytest

from mer_utils import beyond, beyond_figures, catalogue, outputs, results
from mer_utils.linear_model import LINEAR_MODEL_FILE, LinearModel
from mer_utils.catalogue import (
    AUDIO_BASELINE, EARLY_FUSION, LATE_FUSION, LYRICS_BASELINE, PRETRAINED_AUDIO, PRETRAINED_LYRICS, STACKING,
)

N_TRACKS = 60
#: A short grid and 3 inner folds keep each fit of every row well under a second.
FAST = {"c_grid": (0.1, 1.0), "n_inner": 3}


def toy_sources(seed=0, n_classes=2):
    """Labels take turns; column 0 of the audio table and column 1 of the lyrics table carry the class, noisily.

    With more than two classes, class k > 0 also raises audio column k + 1 and lyrics column k + 2.
    """
    rng = np.random.default_rng(seed)
    ids = [f"t{i:02d}" for i in range(N_TRACKS)]
    labels = {t: i % n_classes for i, t in enumerate(ids)}
    y = np.array([labels[t] for t in ids])
    audio = rng.normal(size=(N_TRACKS, 12))
    audio[:, 0] += 1.5 * (2 * (y > 0) - 1)
    lyrics = rng.normal(size=(N_TRACKS, 8))
    lyrics[:, 1] += 1.5 * (2 * (y > 0) - 1)
    for k in range(1, n_classes if n_classes > 2 else 1):
        audio[:, k + 1] += 3.0 * (y == k)
        lyrics[:, k + 2] += 3.0 * (y == k)
    sources = {"musicnn": pd.DataFrame(audio, index=ids).add_prefix("a"),
               "lyrics_features": pd.DataFrame(lyrics, index=ids).add_prefix("l")}
    order = rng.permutation(ids).tolist()
    splits = [{"train": order[20:], "val": order[:20]}, {"train": order[:40], "val": order[40:]}]
    return ids, labels, sources, splits


def _toy(monkeypatch, layout, classes):
    from mer_utils.splits import save_splits

    ids, labels, sources, splits = toy_sources(n_classes=len(classes))
    save_splits(layout, splits, params={}, classes=classes)  # the run's classes
    monkeypatch.setattr(beyond, "load_splits", lambda layout: splits)
    monkeypatch.setattr(beyond, "label_map", lambda layout: labels)
    monkeypatch.setattr(beyond, "artist_groups", lambda layout: None)
    return types.SimpleNamespace(ids=ids, labels=labels, sources=sources, splits=splits, classes=classes)


@pytest.fixture
def toy(monkeypatch, layout):
    return _toy(monkeypatch, layout, ("negative", "positive"))


@pytest.fixture
def toy3(monkeypatch, layout):
    """Three classes, as a run with a ``label_map`` has them."""
    return _toy(monkeypatch, layout, ("calm", "happy", "sad"))


def test_every_row_learns_the_planted_cue(toy):
    split = toy.splits[0]
    found = beyond.fold_probabilities(split["train"], split["val"], toy.labels, toy.sources, seed=1, **FAST)
    assert set(found) == {PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING}
    y = np.array([toy.labels[t] for t in split["val"]])
    for name, (prob, details) in found.items():
        assert prob.shape == (20,) and ((0 <= prob) & (prob <= 1)).all(), name
        assert np.mean((prob >= 0.5) == y) >= 0.7, name
    assert found[PRETRAINED_AUDIO][1]["C"] in FAST["c_grid"]
    assert all(w > 0 for w in found[STACKING][1]["weights"]), "both modalities carry the class"
    np.testing.assert_allclose(found[LATE_FUSION][0], (found[PRETRAINED_AUDIO][0] + found[PRETRAINED_LYRICS][0]) / 2)


def test_the_scored_fold_is_never_seen(toy):
    """Every row's probabilities are the same whatever the labels (and features) of the outer fold say."""
    split = toy.splits[0]
    found = beyond.fold_probabilities(split["train"], split["val"], toy.labels, toy.sources, seed=1, **FAST)
    flipped = {t: (1 - y if t in split["val"] else y) for t, y in toy.labels.items()}
    scrambled = {key: table.drop(index=split["val"][:5]) for key, table in toy.sources.items()}
    again = beyond.fold_probabilities(split["train"], split["val"], flipped, toy.sources, seed=1, **FAST)
    for name in found:
        np.testing.assert_array_equal(found[name][0], again[name][0], err_msg=name)
        assert found[name][1] == again[name][1], name
    # tracks of the outer fold without features are imputed; the others' probabilities stay the same
    imputed = beyond.fold_probabilities(split["train"], split["val"], toy.labels, scrambled, seed=1, **FAST)
    assert imputed[PRETRAINED_AUDIO][1]["imputed_test"] == 5
    np.testing.assert_allclose(imputed[PRETRAINED_AUDIO][0][5:], found[PRETRAINED_AUDIO][0][5:])


def test_zero_shot_scores_mood_tags_and_fits_only_a_threshold(toy):
    names = {"happy": 0.0, "party": 0.0, "sad": 0.0, "Mellow": 0.0, "rock": 0.0}
    y = np.array([toy.labels[t] for t in toy.ids])
    rng = np.random.default_rng(2)
    tags = pd.DataFrame({f"tag_{name}": rng.uniform(0, 0.3, size=len(y)) for name in names}, index=toy.ids)
    tags["tag_happy"] += 0.4 * y  # happy songs are positive, sad ones negative
    tags["tag_sad"] += 0.4 * (1 - y)
    score = beyond.zero_shot_score(tags)
    np.testing.assert_allclose(score, (tags["tag_happy"] + tags["tag_party"]) / 2 - (tags["tag_sad"] + tags["tag_Mellow"]) / 2)
    assert beyond.zero_shot_score(tags.drop(columns="tag_Mellow")) is None
    split = toy.splits[0]
    found = beyond.fold_probabilities(split["train"], split["val"], toy.labels, {"musicnn": tags}, seed=1, **FAST)
    prob, details = found[catalogue.ZERO_SHOT]
    assert details["slope"] > 0 and np.mean((prob >= 0.5) == y[[toy.ids.index(t) for t in split["val"]]]) > 0.8


def test_a_feature_source_without_tracks_gives_no_row(layout, toy, caplog):
    sources = {"musicnn": pd.DataFrame(), "lyrics_features": toy.sources["lyrics_features"]}
    scores = beyond.evaluate_pretrained(layout, sources, seed=3, **FAST)
    assert set(scores["model"]) == {PRETRAINED_LYRICS}
    assert "No track has musicnn features" in caplog.text
    with pytest.raises(ValueError, match="no pretrained features to evaluate"):
        beyond.evaluate_pretrained(layout, {"musicnn": pd.DataFrame(), "lyrics_features": None}, seed=3)


def test_one_modality_gives_its_row_only(toy):
    split = toy.splits[1]
    found = beyond.fold_probabilities(split["train"], split["val"], toy.labels,
                                      {"musicnn": toy.sources["musicnn"]}, seed=1, **FAST)
    assert set(found) == {PRETRAINED_AUDIO}


def test_the_stacker_weighs_the_classes_as_the_other_rows_do():
    """Three negative songs to one positive and features without any cue: no row leans to the larger class."""
    rng = np.random.default_rng(0)
    ids = [f"t{i:02d}" for i in range(80)]
    labels = {t: int(i % 4 == 0) for i, t in enumerate(ids)}
    sources = {"musicnn": pd.DataFrame(rng.normal(size=(80, 6)), index=ids).add_prefix("a"),
               "lyrics_features": pd.DataFrame(rng.normal(size=(80, 6)), index=ids).add_prefix("l")}
    found = beyond.fold_probabilities(ids[:60], ids[60:], labels, sources, seed=0, **FAST)
    for name in (PRETRAINED_AUDIO, LATE_FUSION, STACKING):
        assert abs(found[name][0].mean() - 0.5) < 0.15, (name, found[name][0].mean())


def test_inner_folds_keep_artists_together_and_stay_stratified():
    ids = [f"t{i}" for i in range(40)]
    labels = {t: i % 2 for i, t in enumerate(ids)}
    groups = {t: f"artist{i // 4}" for i, t in enumerate(ids)}
    for train, val in beyond.inner_folds(ids, labels, seed=0, groups=groups):
        assert not {groups[ids[i]] for i in train} & {groups[ids[i]] for i in val}
        assert {labels[ids[i]] for i in val} == {0, 1}
    inner_train, inner_val = beyond.inner_split(ids, labels, seed=0, val_fraction=0.25)
    assert sorted(inner_train + inner_val) == sorted(ids) and len(inner_val) == 10
    assert sum(labels[t] for t in inner_val) == 5


def test_the_inner_search_scores_every_c_when_an_inner_fold_lacks_a_class():
    """Artist-grouped inner folds of a class sung by two artists: one validation part has none of that class."""
    ids, labels, sources, splits = toy_sources(n_classes=3)
    groups = {t: (f"sad{int(t[1:]) % 2}" if labels[t] == 2 else f"artist_{t}") for t in ids}
    split = splits[0]
    cv = beyond.inner_folds(split["train"], labels, seed=1, groups=groups, n_folds=3)
    assert any(2 not in {labels[split["train"][i]] for i in val} for _, val in cv), "the case under test"
    found = beyond.fold_probabilities(split["train"], split["val"], labels, {"musicnn": sources["musicnn"]}, seed=1,
                                      groups=groups, c_grid=(0.01, 0.1, 1.0), n_inner=3)
    details = found[PRETRAINED_AUDIO][1]
    assert np.isfinite(details["inner_log_loss"]), "scikit-learn's neg_log_loss gave NaN for every C"
    assert details["C"] > 0.01, "NaN everywhere kept the first, most regularised C"


def test_outputs_are_read_by_results_with_protocols(layout, toy):
    scores = beyond.evaluate_pretrained(layout, toy.sources, seed=3, **FAST)
    assert len(scores) == 5 * len(toy.splits)
    for name in (PRETRAINED_AUDIO, STACKING):
        folder = layout.model_dir(name, 1)
        predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
        assert predictions["track_id"].tolist() == toy.splits[1]["val"]
        record = outputs.read_provenance(folder / outputs.PROVENANCE_JSON)
        assert record["protocol"] == "never-tuned" and record["seed"] == 4
    summary = beyond.extended_summary(results.collect_metrics(layout, models=None))
    rows = [PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING]
    assert set(summary["model"]) == set(rows)
    assert set(summary["protocol"]) == {"never-tuned"} and set(summary["family"]) == {"pretrained"}
    table = beyond.extended_table(summary)
    assert table["name"].tolist() == [i.name for i in catalogue.BEYOND_MODELS if i.name in rows], "catalogue order"
    assert "[never-tuned]" in beyond.extended_markdown(table)


def test_a_rerun_without_lyrics_features_leaves_no_old_lyrics_or_fusion_rows(layout, toy):
    beyond.evaluate_pretrained(layout, toy.sources, seed=3, **FAST)
    fewer_tracks = toy.sources["lyrics_features"].iloc[:0]  # the stage rejected every track this time
    beyond.evaluate_pretrained(layout, {"musicnn": toy.sources["musicnn"], "lyrics_features": fewer_tracks}, seed=3,
                               **FAST)
    assert set(results.collect_metrics(layout, models=None)["model"]) == {PRETRAINED_AUDIO}
    assert sorted(path.name for path in layout.models_dir.iterdir()) == [PRETRAINED_AUDIO]


def test_saved_linear_models_give_back_each_splits_probabilities(layout, toy):
    """What predict scores new songs with is the very fit that was scored: same probabilities, no pickle."""
    beyond.evaluate_pretrained(layout, toy.sources, seed=3, **FAST)
    for name, key in ((PRETRAINED_AUDIO, "musicnn"), (PRETRAINED_LYRICS, "lyrics_features")):
        for index, split in enumerate(toy.splits):
            folder = layout.model_dir(name, index)
            model = LinearModel.load(folder / LINEAR_MODEL_FILE)
            assert model.columns == tuple(toy.sources[key].columns)
            stored = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)["prob_positive"].to_numpy()
            np.testing.assert_allclose(model.prob_positive(toy.sources[key].loc[split["val"]]), stored, atol=1e-9)
            assert "fitted" not in outputs.read_provenance(folder / outputs.PROVENANCE_JSON)["choices"]
    assert not (layout.model_dir(STACKING, 0) / LINEAR_MODEL_FILE).exists(), "only the unimodal rows save one"


def test_comparison_pairs_set_each_row_against_fused_baselines_and_its_paper_self():
    ran = ["fused", AUDIO_BASELINE, LYRICS_BASELINE, PRETRAINED_AUDIO, LATE_FUSION, "fused_nested"]
    summary = pd.DataFrame({"model": ran, "runs": 5})
    pairs = beyond.comparison_pairs(summary)
    assert (PRETRAINED_AUDIO, "fused") in pairs and (PRETRAINED_AUDIO, AUDIO_BASELINE) in pairs
    assert (LATE_FUSION, AUDIO_BASELINE) in pairs and (LATE_FUSION, LYRICS_BASELINE) in pairs
    assert ("fused_nested", "fused") in pairs and ("fused_nested", "fused_nested") not in pairs
    assert not any(PRETRAINED_LYRICS in pair for pair in pairs), "a model that did not run"


def _paired(model_a, model_b, mean_a, mean_b, p_value, *, metric="balanced_accuracy", p_column="t_p_value"):
    return {"model_a": model_a, "model_b": model_b, "metric": metric, "n_pairs": 5, "mean_a": mean_a,
            "mean_b": mean_b, "mean_difference": mean_a - mean_b, p_column: p_value}


def test_recommended_verdicts_say_when_a_recommended_model_loses_to_its_baseline():
    paired = pd.DataFrame([
        _paired(PRETRAINED_AUDIO, AUDIO_BASELINE, 0.79, 0.60, 0.001),
        _paired(PRETRAINED_LYRICS, LYRICS_BASELINE, 0.72, 0.73, 0.74),
        _paired(PRETRAINED_LYRICS, LYRICS_BASELINE, 0.90, 0.10, 0.001, metric="accuracy"),  # another metric
        _paired(STACKING, LYRICS_BASELINE, 0.90, 0.10, 0.001),  # not a recommended model
        _paired(LATE_FUSION, AUDIO_BASELINE, 0.79, 0.60, 0.02),
        _paired(LATE_FUSION, LYRICS_BASELINE, 0.70, 0.75, 0.01),
    ])
    verdicts = beyond.recommended_verdicts(paired)
    assert verdicts[["modality", "model", "baseline", "verdict"]].values.tolist() == [
        ["audio", PRETRAINED_AUDIO, AUDIO_BASELINE, "ahead"],
        ["lyrics", PRETRAINED_LYRICS, LYRICS_BASELINE, "behind, within the noise"],
        ["both", LATE_FUSION, AUDIO_BASELINE, "ahead"],
        ["both", LATE_FUSION, LYRICS_BASELINE, "behind"]]
    assert verdicts["difference"].iloc[1] == pytest.approx(-0.01)
    text = beyond.verdicts_markdown(verdicts)
    assert len(text.splitlines()) == 4 and text.count("does not beat its classical baseline") == 2
    assert "0.720 against 0.730 balanced accuracy (-0.010, p = 0.74, 5 folds)" in text


def test_recommended_verdicts_read_the_corrected_p_value_of_repeated_folds():
    repeated = _paired(PRETRAINED_AUDIO, AUDIO_BASELINE, 0.70, 0.60, 0.2, p_column="corrected_p_value")
    corrected = pd.DataFrame([repeated | {"plain_p_value": 0.001}])
    assert beyond.recommended_verdicts(corrected)["verdict"].tolist() == ["ahead, within the noise"]
    level = pd.DataFrame([_paired(PRETRAINED_AUDIO, AUDIO_BASELINE, 0.6, 0.6, float("nan"))])
    assert beyond.recommended_verdicts(level)["verdict"].tolist() == ["level"]
    assert beyond.recommended_verdicts(level.iloc[:0]).empty
    assert "no recommended model" in beyond.verdicts_markdown(beyond.recommended_verdicts(level.iloc[:0]))


def test_no_comparable_pair_gives_empty_tables_with_their_columns():
    metrics = pd.DataFrame({"model": [PRETRAINED_AUDIO], "split": [0], "metric": ["accuracy"], "value": [0.7]})
    corrected = beyond.corrected_paired_tests(metrics, [(PRETRAINED_AUDIO, AUDIO_BASELINE)], test_fraction=0.2)
    assert corrected.empty and list(corrected.columns) == list(beyond.CORRECTED_COLUMNS)
    assert beyond.recommended_verdicts(corrected).empty


def test_catalogue_rows_are_labelled_by_protocol():
    assert {info.protocol for info in catalogue.BEYOND_MODELS} == {"never-tuned"}
    assert {info.protocol for info in catalogue.MODELS if info.builder} == {"paper"}
    assert all(p in catalogue.PROTOCOLS for p in {i.protocol for i in catalogue.MODELS + catalogue.BEYOND_MODELS})
    nested = [info for info in catalogue.BEYOND_MODELS if info.architecture]
    assert [i.architecture for i in nested] == list(catalogue.MODEL_INPUTS)
    assert catalogue.model_info("fused_nested").modality == "both"
    assert not set(catalogue.BEYOND_INFO) & set(catalogue.MODEL_INFO), "notebook 07's Table 1 is unchanged"


def test_nested_training_never_sees_the_outer_fold(layout, tmp_path, monkeypatch):
    """Early stopping watches an inner part of the training fold; the outer fold's labels change nothing."""
    from test_training import FAST, fake_data

    from mer_utils import training
    from mer_utils.paths import RunLayout

    monkeypatch.setattr(beyond, "artist_groups", lambda layout: None)

    def run(data, folder):
        monkeypatch.setattr(training.TrainingData, "from_layout", classmethod(lambda cls, *a, **k: data))
        return beyond.train_nested("lyrics_cnn", folder, seed=5, **{**FAST, "patience": 1})

    data = fake_data(n_tracks=40, n_splits=2)
    rows = run(data, layout)
    assert rows["n_test"].tolist() == [8, 8] and (rows["n_train"] + rows["n_inner_val"]).tolist() == [32, 32]
    for i, split in enumerate(data.splits):
        folder = layout.model_dir("lyrics_cnn_nested", i)
        predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
        assert predictions["track_id"].tolist() == split["val"]
        record = outputs.read_provenance(folder / outputs.PROVENANCE_JSON)
        assert record["protocol"] == "never-tuned" and record["architecture"] == "lyrics_cnn"
        assert (folder / "model.keras").is_file() and (folder / outputs.HISTORY_CSV).is_file()
        _, inner_val = beyond.inner_split(split["train"], data.labels, seed=5 + i)
        assert not set(inner_val) & set(split["val"]) and set(inner_val) < set(split["train"])
    flipped = dict(data.labels)
    flipped.update({t: 1 - data.labels[t] for t in data.splits[0]["val"]})
    again = RunLayout(tmp_path / "again")
    run(training.TrainingData(data.splits[:1], flipped, data.mels, data.tokens), again)
    first = outputs.read_predictions(layout.model_dir("lyrics_cnn_nested", 0) / outputs.PREDICTIONS_CSV)
    second = outputs.read_predictions(again.model_dir("lyrics_cnn_nested", 0) / outputs.PREDICTIONS_CSV)
    np.testing.assert_allclose(first["prob_positive"], second["prob_positive"], atol=1e-6)
    assert (first["label"] != second["label"]).all(), "only the outer labels differ"


def test_nested_training_takes_the_runs_classes(layout, monkeypatch):
    from test_training import FAST, fake_data_4

    from mer_utils import training

    data = fake_data_4()
    monkeypatch.setattr(beyond, "artist_groups", lambda layout: None)
    monkeypatch.setattr(training.TrainingData, "from_layout", classmethod(lambda cls, *a, **k: data))
    rows = beyond.train_nested("lyrics_cnn", layout, seed=5, **{**FAST, "patience": 1})
    assert "macro_f1" in rows and "f1" not in rows
    predictions = outputs.read_predictions(layout.model_dir("lyrics_cnn_nested", 0) / outputs.PREDICTIONS_CSV)
    probabilities = predictions[[f"prob_{name}" for name in data.classes]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def audio_baseline_inputs(toy, *, stack=np.stack):
    """The audio baseline fit on the toy's audio table, in ``_baseline_inputs``' form."""
    from mer_utils import baselines

    audio = toy.sources["musicnn"]
    return {AUDIO_BASELINE: (dict(zip(audio.index, audio.to_numpy())), stack, baselines.make_audio_melstats)}


def test_repeated_folds_score_every_cheap_row_on_identical_folds(toy, monkeypatch):
    monkeypatch.setattr(beyond, "_baseline_inputs", lambda layout, ids: audio_baseline_inputs(toy))
    metrics = beyond.repeated_evaluation(None, toy.sources, seed=0, n_repeats=2, n_folds=3, **FAST)
    accuracy = metrics[metrics["metric"] == "accuracy"]
    assert set(accuracy["model"]) == {PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING,
                                      AUDIO_BASELINE}
    assert accuracy.groupby("model")["split"].apply(sorted).map(tuple).nunique() == 1, "identical folds"
    assert sorted(accuracy["split"].unique()) == list(range(6))
    assert (accuracy.groupby("split")["model"].count() == 6).all()
    counts = metrics[(metrics["metric"] == "n") & (metrics["model"] == STACKING)]
    n_per_fold = counts.groupby("repeat")["value"].sum()
    assert (n_per_fold == N_TRACKS).all(), "each repeat scores every track once"
    tests = beyond.corrected_paired_tests(metrics, [(LATE_FUSION, AUDIO_BASELINE)], test_fraction=1 / 3)
    (row,) = tests.itertuples(index=False)
    assert row.n_pairs == 6 and row.corrected_p_value >= row.plain_p_value, "the correction only widens"


def test_folds_fit_on_worker_processes_give_the_numbers_of_one_process(toy):
    context = beyond.FoldContext(toy.labels, toy.sources, baselines=audio_baseline_inputs(toy), **FAST)
    folds = [(split["train"], split["val"], seed) for seed, split in enumerate(toy.splits * 2)]
    here, pooled = (beyond.map_folds(folds, context, n_workers=n) for n in (1, 2))
    assert [sorted(found) for found, _ in here] == [sorted(found) for found, _ in pooled]
    assert sorted(here[0][0]) == sorted([PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION,
                                         STACKING, AUDIO_BASELINE])
    for (found, _), (found_pooled, _) in zip(here, pooled):  # in the order given, whichever finished first
        for name, (prob, _) in found.items():
            np.testing.assert_array_equal(prob, found_pooled[name][0], err_msg=name)
    with pytest.raises(KeyError):  # a split's error is raised as it was, not yielded as a result
        beyond.map_folds([(["nobody"], ["t00"], 0)] * 2, context, n_workers=2)


def stack_and_warn(rows):
    """np.stack that warns, as a model fit in a worker process may (module level: workers import it)."""
    warnings.warn("a warning raised while fitting a split", UserWarning)
    return np.stack(rows)


def test_warnings_of_splits_fit_on_worker_processes_reach_the_notebook(toy):
    context = beyond.FoldContext(toy.labels, toy.sources, baselines=audio_baseline_inputs(toy, stack=stack_and_warn),
                                 **FAST)
    folds = [(split["train"], split["val"], seed) for seed, split in enumerate(toy.splits)]
    with pytest.warns(UserWarning, match="while fitting a split") as caught:
        beyond.map_folds(folds, context, n_workers=2)
    assert all(w.filename == __file__ for w in caught if "while fitting" in str(w.message)), "raised where it was"


def test_notebook_08_parameter_ranges_name_the_modules_lists():
    from mer_utils import config
    from mer_utils.pretrained import musicnn

    assert config.PARAMETER_RANGES["musicnn_model"] == musicnn.MODELS
    assert config.PARAMETER_RANGES["nested_models"] == tuple(catalogue.MODEL_INPUTS)
    from mer_utils import run as runner

    declared = {"08_beyond_the_paper": runner.declared_parameters(runner.NOTEBOOKS_DIR / "08_beyond_the_paper.ipynb")}
    for nested, problems in (([], []), (["gru"], ["nested_models=['gru']: each element must fit: 'gru' must be one of "
                                                  f"{', '.join(catalogue.MODEL_INPUTS)}"])):
        profile = {"parameters": {"nested_models": nested}, "variants": {}}
        assert runner.parameter_problems(profile, declared) == problems, "its help says [] retrains none"


def test_every_row_but_zero_shot_takes_more_than_two_classes(toy3):
    split = toy3.splits[0]
    found = beyond.fold_probabilities(split["train"], split["val"], toy3.labels, toy3.sources, seed=1, **FAST)
    assert set(found) == {PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING}, \
        "no zero-shot row: its one score can only tell two classes apart"
    y = np.array([toy3.labels[t] for t in split["val"]])
    for name, (prob, _) in found.items():
        assert prob.shape == (20, 3), name
        np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-9, err_msg=name)
        assert np.mean(prob.argmax(axis=1) == y) >= 0.6, name
    np.testing.assert_allclose(found[LATE_FUSION][0], (found[PRETRAINED_AUDIO][0] + found[PRETRAINED_LYRICS][0]) / 2)
    assert np.shape(found[STACKING][1]["weights"]) == (3, 6), "each class weighs both models' 3 log-probabilities"


def test_more_than_two_classes_are_written_and_summarised_like_notebook_07s(layout, toy3):
    scores = beyond.evaluate_pretrained(layout, toy3.sources, seed=3, **FAST)
    assert "macro_f1" in scores and "f1" not in scores, "no class is positive"
    columns = [f"prob_{name}" for name in toy3.classes]
    for name, key in ((PRETRAINED_AUDIO, "musicnn"), (PRETRAINED_LYRICS, "lyrics_features")):
        folder = layout.model_dir(name, 1)
        predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
        model = LinearModel.load(folder / LINEAR_MODEL_FILE)
        assert model.n_classes == 3
        np.testing.assert_allclose(model.probabilities(toy3.sources[key].loc[toy3.splits[1]["val"]]),
                                   predictions[columns].to_numpy(), atol=1e-9)
    summary = beyond.extended_summary(results.collect_metrics(layout, models=None), n_classes=3)
    assert set(summary["metric"]) == set(results.MULTICLASS_SCORES)
    assert set(summary["model"]) == {PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING}
    (ax,) = beyond_figures.plot_extended_table(summary, chance=1 / 3).axes
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in dotted] == [pytest.approx(1 / 3)], "chance is one in three"
    assert ax.get_xlim()[0] <= 1 / 3 - 0.1


def test_the_figure_shows_rows_of_one_fold_which_have_no_interval():
    metrics = pd.DataFrame({"model": [PRETRAINED_AUDIO, AUDIO_BASELINE], "split": 0, "metric": "balanced_accuracy",
                            "value": [0.2, 0.9]})
    (ax,) = beyond_figures.plot_extended_table(beyond.extended_summary(metrics)).axes
    low, high = ax.get_xlim()
    assert low < 0.2 and high > 0.9


def test_repeated_folds_take_more_than_two_classes(layout, toy3, monkeypatch):
    monkeypatch.setattr(beyond, "_baseline_inputs", lambda layout, ids: audio_baseline_inputs(toy3))
    metrics = beyond.repeated_evaluation(layout, toy3.sources, seed=0, n_repeats=1, n_folds=3, **FAST)
    balanced = metrics[metrics["metric"] == "balanced_accuracy"].groupby("model")["value"].mean()
    assert set(balanced.index) == {PRETRAINED_AUDIO, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING,
                                   AUDIO_BASELINE}
    assert (balanced > 0.5).all(), "well above the 1/3 of chance"

