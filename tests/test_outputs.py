"""Per-split outputs: what save_split writes is what the readers give back, in strict JSON, ids untouched."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from mer_utils import outputs

#: Ids that pandas would turn into NaN or numbers if it were allowed to guess.
TRICKY_IDS = ["None", "NA", "nan", "NULL", "007", "1e3", "n/a"]
PROBS = [0.9, 0.5, 0.1, 0.49, 0.7, 0.2, 0.6]
LABELS = [1, 1, 0, 0, 1, 0, 0]


def refuse_nan(constant):
    raise AssertionError(f"not strict JSON: {constant}")


def save(folder, **changes):
    options = {"track_ids": TRICKY_IDS, "labels": LABELS, "prob_positive": PROBS,
               "scores": {"accuracy": 0.75, "roc_auc": math.nan, "n": 7},
               "provenance": {"seed": np.int64(3), "loss": np.float32("nan"), "shape": (2, 3)}}
    return outputs.save_split(folder, **{**options, **changes})


def test_round_trip_keeps_ids_as_strings_and_thresholds_once(tmp_path):
    folder = save(tmp_path / "models" / "fused" / "split_0")
    predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
    assert list(predictions.columns) == list(outputs.PREDICTION_COLUMNS)
    assert predictions["track_id"].tolist() == TRICKY_IDS, "no id read as NaN or a number"
    assert predictions["label"].tolist() == LABELS
    np.testing.assert_array_equal(predictions["prob_positive"], PROBS)
    # 0.5 is positive, 0.49 negative: the threshold of metrics.evaluate
    assert predictions["predicted"].tolist() == [1, 1, 0, 0, 1, 0, 1]
    assert not (folder / outputs.HISTORY_CSV).exists(), "no history given, none written"


def test_nan_scores_are_written_as_null_and_read_back_as_nan(tmp_path):
    folder = save(tmp_path)
    text = (folder / outputs.METRICS_JSON).read_text()
    assert json.loads(text, parse_constant=refuse_nan) == {"accuracy": 0.75, "roc_auc": None, "n": 7}
    scores = outputs.read_metrics(folder / outputs.METRICS_JSON, required=("accuracy", "roc_auc"))
    assert scores["accuracy"] == 0.75 and scores["n"] == 7 and math.isnan(scores["roc_auc"])
    provenance = json.loads((folder / outputs.PROVENANCE_JSON).read_text(), parse_constant=refuse_nan)
    assert provenance == {"seed": 3, "loss": None, "shape": [2, 3]}
    assert outputs.read_provenance(folder / outputs.PROVENANCE_JSON) == provenance


def test_metrics_of_older_runs_with_bare_nan_still_read(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"accuracy": 0.5, "roc_auc": NaN, "note": "old"}')
    scores = outputs.read_metrics(path)
    assert set(scores) == {"accuracy", "roc_auc"} and math.isnan(scores["roc_auc"]), "notes are not scores"


def test_history_round_trip_with_a_diverged_epoch(tmp_path):
    history = pd.DataFrame({"epoch": [1, 2], "loss": [0.7, np.nan], "accuracy": [0.5, 0.5],
                            "val_loss": [0.6, np.nan], "val_accuracy": [0.55, 0.5], "lr": [0.1, 0.1]})
    folder = save(tmp_path, history=history)
    read = outputs.read_history(folder / outputs.HISTORY_CSV)
    pd.testing.assert_frame_equal(read, history.drop(columns="lr"))


def test_bad_files_name_the_file_and_the_reason(tmp_path):
    folder = save(tmp_path)
    with pytest.raises(ValueError, match=r"metrics.json: missing scores \['f1'\]"):
        outputs.read_metrics(folder / outputs.METRICS_JSON, required=("accuracy", "f1"))
    (folder / outputs.METRICS_JSON).write_text("[0.5]")
    with pytest.raises(ValueError, match="metrics.json: expected a JSON object, got list"):
        outputs.read_metrics(folder / outputs.METRICS_JSON)
    (folder / outputs.PREDICTIONS_CSV).write_text("track_id,label,prob_positive,predicted\na,1,,1\n")
    with pytest.raises(ValueError, match=r"predictions.csv: prob_positive is not a number for tracks \['a'\]"):
        outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
    (folder / outputs.PREDICTIONS_CSV).write_text("track_id,label\na,1\n")
    with pytest.raises(ValueError, match=r"missing columns \['predicted'\] and no probability column \(prob_<class>\)"):
        outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
    with pytest.raises(ValueError, match="give the probabilities once"):
        save(tmp_path, probabilities=PROBS)
    with pytest.raises(ValueError, match=r"probabilities of shape \(7, 3\) do not fit the 2 classes"):
        save(tmp_path, prob_positive=None, probabilities=np.full((7, 3), 1 / 3))


def test_split_folders_of_a_run(layout):
    assert outputs.split_folders(layout) == [], "no model has run"
    for name, split in (("lyrics_cnn", 1), ("fused", 0), ("lyrics_cnn", 0)):
        save(layout.model_dir(name, split))
    (layout.models_dir / "fused" / "split_x").mkdir()
    (layout.models_dir / "notes.txt").write_text("not a model")
    found = [(name, split) for name, split, _ in outputs.split_folders(layout)]
    assert found == [("fused", 0), ("lyrics_cnn", 0), ("lyrics_cnn", 1)]


def test_n_classes_write_one_probability_column_per_class(tmp_path):
    classes = ("calm", "angry", "happy")
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    assert outputs.probability_columns(classes) == ("prob_calm", "prob_angry", "prob_happy")
    folder = outputs.save_split(tmp_path, track_ids=["a", "b", "c"], labels=[1, 0, 1], probabilities=probs,
                                classes=classes, scores={"accuracy": 2 / 3}, provenance={})
    written = (folder / outputs.PREDICTIONS_CSV).read_text().splitlines()
    assert written[:2] == ["track_id,label,prob_calm,prob_angry,prob_happy,predicted", "a,1,0.2,0.5,0.3,1"]
    predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
    assert list(predictions.columns) == list(outputs.prediction_columns(classes))
    assert predictions["predicted"].tolist() == [1, 0, 2], "the most probable class"
    np.testing.assert_array_equal(outputs.probability_matrix(predictions), probs)


def test_two_classes_keep_one_column_whatever_their_names(tmp_path):
    """The paper's task keeps its prob_positive file; two other classes name the column after class 1."""
    assert outputs.probability_columns(("negative", "positive")) == ("prob_positive",)
    assert outputs.prediction_columns() == outputs.PREDICTION_COLUMNS
    folder = outputs.save_split(tmp_path, track_ids=["a", "b"], labels=[0, 1], probabilities=[[0.7, 0.3], [0.4, 0.6]],
                                classes=("dark", "bright"), scores={}, provenance={})
    predictions = outputs.read_predictions(folder / outputs.PREDICTIONS_CSV)
    assert list(predictions.columns) == ["track_id", "label", "prob_bright", "predicted"]
    np.testing.assert_allclose(outputs.probability_matrix(predictions), [[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(ValueError, match="at least two classes"):
        outputs.probability_columns(("only",))
