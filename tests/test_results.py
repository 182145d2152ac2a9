"""The results stage on a synthetic run folder whose numbers are known by construction."""

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mer_utils import metrics as scoring
from mer_utils import outputs, results, results_figures, splits
from mer_utils.catalogue import AUDIO_BASELINE, LYRICS_BASELINE, MODELS
from mer_utils.notebook import save_figure

matplotlib.use("Agg")

#: Validation accuracy per split (0..4). audio_rnn is deliberately absent ("not run").
ACCURACY = {
    "audio_cnn": [0.60, 0.62, 0.64, 0.66, 0.68],
    "audio_cnn_rnn": [0.63, 0.65, 0.66, 0.67, 0.69],
    "lyrics_cnn": [0.76, 0.78, 0.79, 0.80, 0.77],
    "lyrics_rnn": [0.75, 0.76, 0.77, 0.78, 0.79],
    # fused - lyrics_cnn = [0.02, 0.03, 0.01, 0.04, 0.05] split by split
    "fused": [0.78, 0.81, 0.80, 0.84, 0.82],
    AUDIO_BASELINE: [0.58, 0.60, 0.62, 0.61, 0.59],
    LYRICS_BASELINE: [0.72, 0.70, 0.74, 0.73, 0.71],
}
#: Student t quantiles from a printed table: t_{0.975, 4} and t_{0.975, 1}.
T_975_DOF4 = 2.776445
T_975_DOF1 = 12.706205
#: Validation predictions of every run: labels 0, 0, 1, 1; each model misses the last positive.
LABELS = [0, 0, 1, 1]
PROBS = [0.2, 0.4, 0.9, 0.3]


def write_run(layout, scores=ACCURACY):
    """Write each model's split outputs as training does (deep models with a history, baselines without)."""
    for name, values in scores.items():
        for split, acc in enumerate(values):
            metrics = {"accuracy": acc, "balanced_accuracy": acc, "f1": acc - 0.01, "roc_auc": acc + 0.05,
                       "n": 4, "note": "synthetic"}
            epochs = np.arange(1, 4)
            history = None if name.startswith("baseline") else pd.DataFrame({
                "epoch": epochs, "loss": 1.0 / epochs, "accuracy": 0.5 + 0.1 * epochs,
                "val_loss": 1.0 / epochs + split, "val_accuracy": acc - 0.1 * (3 - epochs)})
            outputs.save_split(layout.model_dir(name, split), track_ids=[f"{split}{k:03d}" for k in range(4)],
                               labels=LABELS, prob_positive=PROBS, scores=metrics, provenance={"synthetic": True},
                               history=history)


@pytest.fixture
def run(layout):
    write_run(layout)
    return layout


@pytest.fixture
def metrics(run):
    return results.collect_metrics(run)


@pytest.fixture
def summary(metrics):
    return results.summary_table(metrics)


def row(summary, model, metric="accuracy"):
    (found,) = summary[(summary.model == model) & (summary.metric == metric)].to_dict("records")
    return found


def test_collect_metrics_reads_every_run(metrics):
    assert set(metrics.columns) == {"model", "split", "metric", "value"}
    assert set(metrics.model) == set(ACCURACY)
    acc = metrics[(metrics.model == "fused") & (metrics.metric == "accuracy")]
    assert acc.sort_values("split").value.tolist() == ACCURACY["fused"]
    assert "note" not in set(metrics.metric), "non-numeric entries are not scores"


def test_mean_std_and_t_interval_match_hand_computation(summary):
    audio = row(summary, "audio_cnn")
    # deviations from 0.64: -.04 -.02 0 .02 .04; squares sum to 0.004; / (n - 1) = 0.001
    std = math.sqrt(0.004 / 4)
    half = T_975_DOF4 * std / math.sqrt(5)  # 2.776445 * 0.0316228 / 2.236068 = 0.0392645
    assert audio["runs"] == 5
    assert audio["mean"] == pytest.approx(0.64)
    assert audio["std"] == pytest.approx(0.0316228, abs=1e-7) == pytest.approx(std)
    assert audio["ci_low"] == pytest.approx(0.64 - 0.0392645, abs=1e-6)
    assert audio["ci_high"] == pytest.approx(0.64 + half, abs=1e-6)
    assert audio["paper"] == 0.6479
    assert audio["difference"] == pytest.approx(0.64 - 0.6479)
    auc = row(summary, "audio_cnn", "roc_auc")
    assert auc["mean"] == pytest.approx(0.69) and math.isnan(auc["paper"])


def test_interval_with_two_runs_uses_one_degree_of_freedom():
    stats = results.mean_confidence_interval([0.6, 0.7])
    std = math.sqrt(2 * 0.05**2 / 1)  # 0.0707107
    assert stats["std"] == pytest.approx(std)
    assert stats["ci_high"] - stats["mean"] == pytest.approx(T_975_DOF1 * std / math.sqrt(2), rel=1e-6)
    one = results.mean_confidence_interval([0.6])
    assert one["mean"] == 0.6 and math.isnan(one["std"]) and math.isnan(one["ci_low"])
    with pytest.raises(ValueError, match="confidence"):
        results.mean_confidence_interval([0.6, 0.7], confidence=95)


def test_intervals_are_clipped_to_the_score_range(layout):
    write_run(layout, {"fused": [0.6, 1.0]})
    fused = row(results.summary_table(results.collect_metrics(layout)), "fused")
    # mean 0.8, std 0.2828; half width 12.706 * 0.2828 / sqrt 2 = 2.54 reaches far past [0, 1]
    assert fused["mean"] == pytest.approx(0.8) and (fused["ci_low"], fused["ci_high"]) == (0.0, 1.0)


def test_findings_of_models_that_did_not_run(layout):
    write_run(layout, {"fused": [0.6, 0.7], "lyrics_cnn": [0.7, 0.8]})
    summary = results.summary_table(results.collect_metrics(layout))
    best = results.best_model_per_modality(summary)
    record = results.results_record(summary, results.paired_tests(results.collect_metrics(layout),
                                                                  results.comparison_pairs(best)), best)
    assert record["findings"]["fused_beats_best_audio"]["holds"] is None
    assert record["findings"]["fused_beats_best_lyrics"]["holds"] is False
    text = results.describe_findings(record)
    assert "The fused model beats the best audio model (paper): not checked" in text
    assert "**no** in the means, fused 0.6500 vs lyrics_cnn 0.7500 (lower); no paired test possible" in text


def test_a_model_that_did_not_run_is_absent_from_table1_with_the_reason(metrics, summary):
    missing = row(summary, "audio_rnn")
    assert missing["status"] == "not run" and missing["runs"] == 0 and math.isnan(missing["mean"])
    table = results.table1(summary)
    assert table.name.tolist() == [m.name for m in MODELS if m.name != "audio_rnn"]
    markdown = results.table1_markdown(table)
    assert not [line for line in markdown.splitlines() if line.startswith("| audio | RNN |")]
    assert len(markdown.splitlines()) == 2 + len(MODELS) - 1
    absent = results.absent_models(summary, ("audio", "lyrics"))
    assert absent == {"audio_rnn": "not trained in this run"}
    assert results.describe_absent(absent, ("audio", "lyrics")).startswith(
        "- Not in the table: `audio_rnn`, because they were not trained in this run")
    assert results.describe_absent({}, ("audio", "lyrics")) == "Every model of Table 1 ran."
    best = results.best_model_per_modality(summary)
    paired = results.paired_tests(metrics, results.comparison_pairs(best))
    assert results.results_record(summary, paired, best, absent=absent)["absent"] == absent
    assert "absent" not in results.results_record(summary, paired, best), "only when given"


def test_a_lyrics_only_run_says_the_audio_models_are_absent_for_want_of_audio(layout):
    splits.save_splits(layout, [], params={}, modalities=("lyrics",))
    write_run(layout, {name: ACCURACY[name] for name in ("lyrics_cnn", "lyrics_rnn", LYRICS_BASELINE)})
    summary = results.summary_table(results.collect_metrics(layout))
    table = results.table1(summary)
    assert table["name"].tolist() == ["lyrics_cnn", "lyrics_rnn", LYRICS_BASELINE]
    absent = results.absent_models(summary, ("lyrics",))
    assert absent == dict.fromkeys(["audio_cnn", "audio_rnn", "audio_cnn_rnn", "fused", AUDIO_BASELINE],
                                   "no audio in this run")
    assert results.describe_absent(absent, ("lyrics",)) == (
        "- Not in the table: `audio_cnn`, `audio_rnn`, `audio_cnn_rnn`, `fused`, `baseline_audio_melstats`, because "
        "this run has lyrics only (no audio in this run), the modalities notebook 01 resolved.")
    best = results.best_model_per_modality(summary)
    assert best == {"lyrics": "lyrics_cnn"}
    assert results.comparison_pairs(best) == [("lyrics_cnn", LYRICS_BASELINE)]
    assert results.ran_models(summary, [*best.values(), AUDIO_BASELINE, LYRICS_BASELINE]) == ["lyrics_cnn",
                                                                                             LYRICS_BASELINE]
    record = results.results_record(summary, results.paired_tests(results.collect_metrics(layout),
                                                                  results.comparison_pairs(best)), best)
    assert record["findings"]["fused_beats_best_lyrics"]["holds"] is None
    assert record["findings"]["best_lyrics_beats_baseline"]["holds"] is True


def test_a_crashed_split_lowers_the_run_count(run):
    (run.model_dir("lyrics_rnn", 4) / "metrics.json").unlink()
    summary = results.summary_table(results.collect_metrics(run))
    assert row(summary, "lyrics_rnn")["runs"] == 4
    assert row(summary, "lyrics_rnn")["mean"] == pytest.approx(np.mean([0.75, 0.76, 0.77, 0.78]))


def test_unreadable_metrics_name_the_file(run):
    path = run.model_dir("fused", 2) / "metrics.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"split_2/metrics.json: not a readable"):
        results.collect_metrics(run)
    path.write_text(json.dumps({"accuracy": 0.8}))
    with pytest.raises(ValueError, match=r"missing scores \['balanced_accuracy', 'f1', 'roc_auc'\]"):
        results.collect_metrics(run)


def test_empty_run_folder_gives_an_all_not_run_table(layout):
    summary = results.summary_table(results.collect_metrics(layout))
    assert (summary.status == "not run").all()
    assert results.best_model_per_modality(summary) == {}


def test_best_model_per_modality_ignores_baselines(summary):
    assert results.best_model_per_modality(summary) == {
        "audio": "audio_cnn_rnn", "lyrics": "lyrics_cnn", "both": "fused"}
    with_baselines = results.best_model_per_modality(summary, include_baselines=True)
    assert with_baselines["audio"] == "audio_cnn_rnn"


def test_paired_comparison_matches_hand_computation(metrics):
    result = results.paired_comparison(metrics, "fused", "lyrics_cnn")
    # d = [.02, .03, .01, .04, .05]: mean .03, std sqrt(.001 / 4) = .0158114,
    # t = .03 / (.0158114 / sqrt 5) = 3 sqrt 2 = 4.242641 with 4 degrees of freedom.
    t = 3 * math.sqrt(2)
    # Student t CDF with 4 dof in closed form: F(t) = 1/2 + 3/8 * u * (1 - u**2 / 12), u = t / sqrt(1 + t**2 / 4)
    u = t / math.sqrt(1 + t**2 / 4)
    p = 2 * (0.5 - 3 / 8 * u * (1 - u**2 / 12))  # = 0.0132356
    assert result["n_pairs"] == 5
    assert result["mean_difference"] == pytest.approx(0.03)
    assert result["std_difference"] == pytest.approx(math.sqrt(0.001 / 4))
    assert result["t_statistic"] == pytest.approx(t)
    assert result["t_p_value"] == pytest.approx(p, rel=1e-6) == pytest.approx(0.0132356, abs=1e-6)
    # All five differences are positive: W = 0, the most extreme of 2**5 equally likely sign patterns,
    # two-sided p = 2 / 32 = 0.0625, which is also the smallest p the test can give with 5 pairs.
    assert result["wilcoxon_statistic"] == 0
    assert result["wilcoxon_p_value"] == pytest.approx(0.0625)
    assert result["wilcoxon_min_p"] == pytest.approx(0.0625)
    assert "can never reach 0.05" in result["note"]
    assert "t-test" in results.PAIRED_TESTS["t"] and "Wilcoxon signed-rank" in results.PAIRED_TESTS["wilcoxon"]


def test_paired_comparison_uses_common_splits_only(run):
    (run.model_dir("lyrics_cnn", 4) / "metrics.json").unlink()
    result = results.paired_comparison(results.collect_metrics(run), "fused", "lyrics_cnn")
    assert result["n_pairs"] == 4
    assert result["mean_difference"] == pytest.approx(np.mean([0.02, 0.03, 0.01, 0.04]))
    assert result["wilcoxon_min_p"] == pytest.approx(0.125)
    assert "only 4 of the splits" in result["note"]


def test_paired_comparison_degenerate_cases(layout):
    write_run(layout, {"fused": [0.8, 0.8], "audio_cnn": [0.7, 0.7], "lyrics_cnn": [0.8, 0.8]})
    metrics = results.collect_metrics(layout)
    equal = results.paired_comparison(metrics, "fused", "audio_cnn")
    assert math.isnan(equal["t_statistic"]) and "all differences are equal" in equal["note"]
    zero = results.paired_comparison(metrics, "fused", "lyrics_cnn")
    assert math.isnan(zero["wilcoxon_p_value"]) and "all differences are zero" in zero["note"]
    with pytest.raises(ValueError, match="'audio_rnn' has no 'accuracy' runs"):
        results.paired_comparison(metrics, "fused", "audio_rnn")


def test_paired_tests_cover_the_papers_claims_and_the_baselines(metrics, summary):
    best = results.best_model_per_modality(summary)
    pairs = results.comparison_pairs(best)
    assert pairs == [("fused", "audio_cnn_rnn"), ("fused", "lyrics_cnn"), ("lyrics_cnn", "audio_cnn_rnn"),
                     ("audio_cnn_rnn", AUDIO_BASELINE), ("lyrics_cnn", LYRICS_BASELINE)]
    table = results.paired_tests(metrics, pairs + [("fused", "audio_rnn")])
    assert list(table.columns) == list(results.PAIRED_COLUMNS)
    assert len(table) == 5, "a pair with a model that did not run is left out"
    assert results.comparison_pairs({"lyrics": "lyrics_rnn"}) == [("lyrics_rnn", LYRICS_BASELINE)]


def test_paired_display_names_each_test_once_above_its_columns(metrics, summary):
    paired = results.paired_tests(metrics, results.comparison_pairs(results.best_model_per_modality(summary)))
    table = results.paired_tests_display(paired)
    headers = list(table.columns)
    assert headers[:3] == [("pair", "model_a"), ("pair", "model_b"), ("pair", "n_pairs")]
    assert [c for g, c in headers if g == results.T_TEST] == ["statistic", "p_value"]
    assert [c for g, c in headers if g == results.WILCOXON_TEST] == ["statistic", "p_value", "min_p"]
    assert headers[-1] == ("", "note") and ("accuracy", "mean_difference") in headers
    assert not any(results.T_TEST in str(value) for value in table.to_numpy().ravel()), "no test name in the rows"
    assert table[(results.T_TEST, "p_value")].tolist() == paired["t_p_value"].tolist()
    record = results.results_record(summary, paired, results.best_model_per_modality(summary))
    assert record["paired_test_methods"] == results.PAIRED_TESTS
    assert all("t_test" not in row for row in record["paired_tests"])


def test_record_findings_and_files(run, metrics, summary):
    best = results.best_model_per_modality(summary)
    paired = results.paired_tests(metrics, results.comparison_pairs(best))
    record = results.results_record(summary, paired, best)
    findings = record["findings"]
    assert list(findings) == list(results.CLAIMS)
    assert all(f["holds"] for f in findings.values())
    fused_lyrics = findings["fused_beats_best_lyrics"]
    assert (fused_lyrics["model_a"], fused_lyrics["model_b"]) == ("fused", "lyrics_cnn")
    assert fused_lyrics["difference"] == pytest.approx(0.03)
    assert fused_lyrics["t_p_value"] == pytest.approx(0.0132356, abs=1e-6) and fused_lyrics["significant"]
    assert record["models"]["audio_rnn"]["runs"] == 0 and record["models"]["audio_rnn"]["accuracy"]["mean"] is None
    text = results.describe_findings(record)
    assert ("The fused model beats the best lyrics model (paper): **yes** in the means, fused 0.8100 vs "
            "lyrics_cnn 0.7800 (higher); paired over 5 runs, t-test p = 0.0132, Wilcoxon p = 0.0625: "
            "significant at 0.05 (t-test).") in text

    paths = results.save_results(run, table=results.table1(summary), paired=paired, record=record)
    assert json.loads(paths["summary"].read_text())["best_per_modality"]["both"] == "fused"
    assert pd.read_csv(paths["table1"]).set_index("name").loc["fused", "accuracy"] == pytest.approx(0.81)
    assert len(pd.read_csv(paths["paired_tests"])) == 5
    assert "| both | CNN+RNN, CNN | 5 | 0.8100 ± " in paths["table1_md"].read_text()


def test_learning_curves_plot_the_mean_over_splits(run):
    histories = results.collect_histories(run)
    assert AUDIO_BASELINE not in set(histories.model), "baselines have no history"
    fig = results_figures.plot_learning_curves(histories, ["audio_cnn_rnn", "fused"])
    accuracy_line = fig.axes[0].lines[0]
    # last epoch: val_accuracy = the split's accuracy, so the mean is 0.66
    assert accuracy_line.get_ydata()[-1] == pytest.approx(0.66)
    loss_line = fig.axes[1].lines[0]
    assert loss_line.get_ydata()[0] == pytest.approx(1.0 + np.mean(range(5)))  # 1/epoch + split
    assert save_figure(fig, run, "figure2").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"no training histories for models \['audio_rnn'\]"):
        results_figures.plot_learning_curves(histories, ["audio_rnn"])


def test_learning_curves_dot_the_epochs_that_not_all_splits_reached():
    """Early stopping: split 0 trains 5 epochs, split 1 only 3; from epoch 3 on the mean is one split's."""
    histories = pd.DataFrame([
        {"model": "fused", "split": split, "epoch": epoch, "val_accuracy": 0.5 + 0.1 * split, "val_loss": 1.0}
        for split, last in ((0, 5), (1, 3)) for epoch in range(1, last + 1)
    ])
    accuracy = results_figures.plot_learning_curves(histories, ["fused"]).axes[0]
    solid, dotted = accuracy.lines[0], accuracy.lines[1]
    assert list(solid.get_xdata()) == [1, 2, 3] and solid.get_ydata()[0] == pytest.approx(0.55)
    assert list(dotted.get_xdata()) == [3, 4, 5] and dotted.get_linestyle() == ":"
    assert dotted.get_ydata()[-1] == pytest.approx(0.5), "the tail is split 0 alone"
    assert "not all splits" in " ".join(t.get_text() for t in accuracy.get_legend().get_texts())

    even = histories[histories.epoch <= 3]
    assert len(results_figures.plot_learning_curves(even, ["fused"]).axes[0].lines) == 1, "no tail, no dotted line"


def test_confusion_matrices_pool_the_splits(run):
    predictions = results.collect_predictions(run)
    fig = results_figures.plot_confusion_matrices(predictions, ["fused", "lyrics_cnn"])
    # per split: TN 2, FP 0, FN 1, TP 1; pooled over 5 splits: 10, 0, 5, 5
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert cells == ["10\n100%", "0\n0%", "5\n50%", "5\n50%"]
    assert save_figure(fig, run, "confusion_matrices").stat().st_size > 1000


def test_roc_curves_and_accuracy_summary(run, summary):
    predictions = results.collect_predictions(run)
    fig = results_figures.plot_roc_curves(predictions, ["fused", LYRICS_BASELINE])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    # scores 0.2, 0.4 (negatives) and 0.9, 0.3 (positives): 3 of 4 pairs ranked right, AUC 0.75
    assert legend[0] == "both: fused (5 runs), AUC 0.750"
    assert fig.axes[0].lines[1].get_linestyle() == "--", "baselines are dashed"
    assert save_figure(fig, run, "roc_curves").stat().st_size > 1000
    fig = results_figures.plot_accuracy_summary(summary)
    assert len(fig.axes[0].get_yticklabels()) == len(ACCURACY), "models that did not run are left out"


def test_roc_legend_sits_beside_the_curves_not_on_them(run):
    models = ["fused", "lyrics_cnn", "audio_cnn_rnn", AUDIO_BASELINE, LYRICS_BASELINE]
    fig = results_figures.plot_roc_curves(results.collect_predictions(run), models)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend, plot, figure = ax.get_legend().get_window_extent(), ax.get_window_extent(), fig.bbox
    assert legend.x0 >= plot.x1, "the legend starts right of the plotting area"
    assert legend.x1 <= figure.x1 and legend.y0 >= figure.y0, "and stays inside the figure"


def test_string_labels_in_predictions_are_read_as_classes(run):
    path = run.model_dir("fused", 0) / "predictions.csv"
    frame = pd.read_csv(path)
    frame["label"] = frame["label"].map({0: "negative", 1: "positive"})
    frame.to_csv(path, index=False)
    predictions = results.collect_predictions(run)
    assert predictions["label"].tolist()[:4] == LABELS
    frame["label"] = "happy"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match="'label' has values outside"):
        results.collect_predictions(run)


def test_a_notebook_training_several_models_compares_each_with_the_paper():
    from mer_utils import model_report

    summary = pd.DataFrame({"model": ["audio_cnn"] * 2 + ["audio_rnn"] * 3,
                            "accuracy": [0.6, 0.7, 0.5, 0.6, 0.7]})
    table = model_report.paper_comparison(summary)
    assert table["model"].tolist() == ["audio_cnn", "audio_rnn"] and table["runs"].tolist() == [2, 3]
    assert table["accuracy_mean"].tolist() == pytest.approx([0.65, 0.6])
    assert table["paper_accuracy"].tolist() == [0.6479, 0.6303]  # Table 1
    assert model_report.model_names("audio", ["cnn_rnn", "cnn", "cnn"]) == ["audio_cnn_rnn", "audio_cnn"]
    with pytest.raises(ValueError, match="unknown model 'audio_lstm'"):
        model_report.model_names("audio", ["lstm"])
    with pytest.raises(ValueError, match="no lyrics model to train"):
        model_report.model_names("lyrics", [])


# --- more than two classes ----------------------------------------------------------------

CLASSES3 = ("calm", "angry", "happy")
#: Validation part of every split: one track per class twice; the models miss the last "happy" track (-> angry).
LABELS3 = [0, 1, 2, 0, 1, 2]
PROBS3 = np.array([[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7],
                   [0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.5, 0.4]])


@pytest.fixture
def run3(layout):
    """A three-class run with both modalities; lyrics_rnn and the audio RNN models did not run."""
    splits.save_splits(layout, [], params={}, classes=CLASSES3)
    for name in ("audio_cnn", "lyrics_cnn", "fused", LYRICS_BASELINE, AUDIO_BASELINE):
        for split in range(3):
            scores = scoring.evaluate(LABELS3, PROBS3)
            outputs.save_split(layout.model_dir(name, split), track_ids=[f"{split}{k}" for k in range(6)],
                               labels=LABELS3, probabilities=PROBS3, classes=CLASSES3, scores=scores,
                               provenance={}, history=None)
    return layout


def test_three_classes_give_a_macro_f1_table_without_the_papers_column(run3):
    metrics = results.collect_metrics(run3)
    assert "f1" not in set(metrics["metric"]) and "macro_f1" in set(metrics["metric"])
    summary = results.summary_table(metrics, n_classes=3)
    assert set(summary["metric"]) == set(results.MULTICLASS_SCORES)
    assert summary["paper"].isna().all(), "the paper's accuracies are of two classes"
    table = results.table1(summary)
    assert table["name"].tolist() == ["audio_cnn", "lyrics_cnn", "fused", AUDIO_BASELINE, LYRICS_BASELINE]
    assert table.loc[0, "accuracy"] == pytest.approx(5 / 6) and table.loc[0, "macro_f1"] == pytest.approx(
        (1 + 0.8 + 2 / 3) / 3)  # F1: calm 1, angry 2*2/(2*2+1) = 0.8, happy 2*1/(2*1+1) = 2/3
    markdown = results.table1_markdown(table)
    assert "| Balanced acc. | Macro-F1 | ROC-AUC (one-vs-rest) |" in markdown.splitlines()[0]
    assert "| lyrics | CNN | 3 | 0.8333 ± 0.0000 | [0.8333, 0.8333] |  |  | 0.8333 | 0.8222 |" in markdown
    absent = results.absent_models(summary, ("audio", "lyrics"))
    assert absent == dict.fromkeys(["audio_rnn", "audio_cnn_rnn", "lyrics_rnn"], "not trained in this run")
    record = results.results_record(summary, results.paired_tests(metrics, []), {}, absent=absent)
    assert record["models"]["fused"]["paper_accuracy"] is None


def test_three_classes_figures_follow_the_classes(run3):
    predictions = results.collect_predictions(run3)
    assert list(predictions.columns) == ["model", "split", "track_id", "label", "prob_calm", "prob_angry",
                                         "prob_happy", "predicted"]
    fig = results_figures.plot_confusion_matrices(predictions, ["fused"], classes=CLASSES3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES3)
    # per split: calm 2 right; angry 2 right; happy 1 right, 1 as angry; pooled over 3 splits
    assert [t.get_text() for t in ax.texts] == ["6\n100%", "0\n0%", "0\n0%", "0\n0%", "6\n100%", "0\n0%",
                                                "0\n0%", "3\n50%", "3\n50%"]
    fig = results_figures.plot_roc_curves(predictions, ["fused", LYRICS_BASELINE], classes=CLASSES3)
    panels = [ax for ax in fig.axes if ax.get_legend()]
    assert len(panels) == 2
    legend = [t.get_text() for t in panels[0].get_legend().get_texts()]
    # calm against the rest: 0.8, 0.6 above every other track's calm probability
    assert legend[0] == "calm, AUC 1.000" and len(legend) == 3
    fig = results_figures.plot_accuracy_summary(results.summary_table(results.collect_metrics(run3), n_classes=3),
                                                chance=1 / 3)
    assert fig.axes[0].lines[-1].get_xdata()[0] == pytest.approx(1 / 3), "chance is one in three"
    assert save_figure(fig, run3, "accuracy").stat().st_size > 1000


def test_class_names_in_predictions_are_read_as_the_runs_classes(run3):
    path = run3.model_dir("fused", 0) / "predictions.csv"
    frame = pd.read_csv(path)
    frame["label"] = frame["label"].map(dict(enumerate(CLASSES3)))
    frame.to_csv(path, index=False)
    assert results.collect_predictions(run3)["label"].tolist()[:6] == LABELS3
    frame["label"] = "positive"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"outside the classes \('calm', 'angry', 'happy'\) / 0 to 2"):
        results.collect_predictions(run3)


def test_table1_reads_its_own_models_after_notebook_08(run):
    """Notebook 08's rows (pretrained, nested) never enter Table 1 or its best-model claims."""
    outputs.save_split(run.model_dir("pretrained_musicnn_lr", 0), track_ids=["a", "b", "c", "d"],
                       labels=LABELS, prob_positive=PROBS, scores={"accuracy": 0.99, "balanced_accuracy": 0.99,
                                                                   "f1": 0.99, "roc_auc": 0.99, "n": 4},
                       provenance={"synthetic": True})
    assert "pretrained_musicnn_lr" not in set(results.collect_metrics(run)["model"])
    assert "pretrained_musicnn_lr" not in set(results.collect_predictions(run)["model"])
    everything = results.collect_metrics(run, models=None)
    assert "pretrained_musicnn_lr" in set(everything["model"])
    best = results.best_model_per_modality(results.summary_table(results.collect_metrics(run)))
    assert "pretrained_musicnn_lr" not in best.values()
