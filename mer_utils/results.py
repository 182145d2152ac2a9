"""Notebook 07: read every model's saved run outputs and answer the paper's question.

Everything here is computed from the files the training stages wrote,
``models/<name>/split_<i>/`` (read through :mod:`mer_utils.outputs`): the
scores of ``metrics.json``, the epochs of ``history.csv``, the validation
predictions of ``predictions.csv``. Which models exist, their Table 1 names
and the paper's accuracies come from :mod:`mer_utils.catalogue`; the figures
are drawn by :mod:`mer_utils.results_figures`.

Table 1 lists the models that ran; :func:`absent_models` says why the others
are absent (a modality the run lacks, or a notebook that did not train
them). With more than two classes its F1 is macro-averaged and it has no
paper column: the paper's accuracies are of its two-class task.

Statistics, with few runs (the paper: 5) in mind:

- mean and sample standard deviation (``ddof=1``) over runs, and a confidence
  interval for the mean from Student's t distribution with ``n - 1`` degrees
  of freedom: ``mean +/- t_{(1+c)/2, n-1} * std / sqrt(n)``;
- paired comparisons run by run on identical splits: the paired t-test and
  the Wilcoxon signed-rank test with its exact null distribution. With ``n``
  non-zero differences the Wilcoxon test cannot give a two-sided p value
  below ``2 / 2**n`` (0.0625 for 5 runs), so it can never reach 0.05 with 5
  runs; the output says so.
"""

import logging
import math

import numpy as np
import pandas as pd
from scipy import stats

from . import outputs
from .catalogue import AUDIO_BASELINE, LYRICS_BASELINE, MODALITIES, MODEL_INFO, modalities_needed, model_info
from .config import LABELS
from .fileio import write_text

logger = logging.getLogger(__name__)

#: The scores of ``metrics.json`` that Table 1 summarises for two classes: the paper's task keeps its
#: columns (``f1`` of the positive class; ``macro_f1`` stays in ``metrics.json``; ``n``, a count, is not averaged).
SCORES = ("accuracy", "balanced_accuracy", "f1", "roc_auc")
#: The same for more than two classes, where no class is positive: the F1 is macro-averaged.
MULTICLASS_SCORES = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")


def table_scores(n_classes):
    """The scores Table 1 summarises for a run of ``n_classes`` classes: :data:`SCORES` or :data:`MULTICLASS_SCORES`."""
    return SCORES if n_classes == 2 else MULTICLASS_SCORES


def run_classes(layout):
    """The run's classes (:func:`mer_utils.splits.load_classes`); the paper's two for a folder without splits."""
    from .splits import load_classes

    return load_classes(layout) if layout.splits_json.is_file() else LABELS


# --- reading the run outputs -------------------------------------------------------

#: What the collectors read by default: Table 1's models (the paper's six and the baselines),
#: so that notebook 07 reads the same whether or not notebook 08 has added its rows.
TABLE1_MODELS = tuple(MODEL_INFO)


def _read_outputs(layout, filename, read, models):
    """Apply ``read(path)`` to ``filename`` in every split folder that has it, in Table 1's model order.

    ``models`` limits the folders read (``None``: every model of the run).
    A split folder without the file (a run that crashed) is a warning, not an
    error: the tables count runs per model. Baselines have no history.
    """
    order = {name: rank for rank, name in enumerate(MODEL_INFO)}
    folders = [item for item in outputs.split_folders(layout) if models is None or item[0] in models]
    folders = sorted(folders, key=lambda item: (order.get(item[0], len(order)), *item[:2]))
    frames = []
    for name, split, folder in folders:
        path = folder / filename
        if not path.is_file():
            if not (filename == outputs.HISTORY_CSV and model_info(name).baseline):
                logger.warning("%s split %d: no %s in %s (did its run stop early?)", name, split, filename, folder)
            continue
        frame = read(path)
        frame.insert(0, "split", split)
        frame.insert(0, "model", name)
        frames.append(frame)
    return frames


def _metrics_reader(required):
    def read(path):
        scores = outputs.read_metrics(path, required=required)
        return pd.DataFrame({"metric": list(scores), "value": list(scores.values())})

    return read


def _concat(frames, columns):
    if not frames:
        return pd.DataFrame(columns=["model", "split", *columns])
    return pd.concat(frames, ignore_index=True)


def collect_metrics(layout, *, models=TABLE1_MODELS):
    """Every run's named scores, from ``models/<name>/split_<i>/metrics.json``.

    Parameters
    ----------
    layout : RunLayout
    models : collection of str or None
        The models to read (default :data:`TABLE1_MODELS`; ``None``: every model of the run,
        notebook 08's extended table).

    Returns
    -------
    pandas.DataFrame
        Long format, columns ``model, split, metric, value``: one row per
        model, split and numeric score (:func:`table_scores`, plus ``n`` and
        any other numeric entry). Empty when no model has run.

    Raises
    ------
    ValueError
        If a metrics file is unreadable or lacks one of the run's :func:`table_scores`.
    """
    required = table_scores(len(run_classes(layout)))
    return _concat(_read_outputs(layout, outputs.METRICS_JSON, _metrics_reader(required), models),
                   ["metric", "value"])


def collect_histories(layout, *, models=TABLE1_MODELS):
    """Every run's training history: columns ``model, split`` + :data:`mer_utils.outputs.HISTORY_COLUMNS`.

    Baselines have no history; their runs are simply absent. ``models`` as in :func:`collect_metrics`.
    """
    return _concat(_read_outputs(layout, outputs.HISTORY_CSV, outputs.read_history, models),
                   outputs.HISTORY_COLUMNS)


def collect_predictions(layout, *, models=TABLE1_MODELS):
    """Every run's validation predictions: columns ``model, split`` + those of ``predictions.csv``.

    That is ``track_id, label``, the probability columns
    (:func:`mer_utils.outputs.probability_columns`: ``prob_positive`` for
    the paper's task, ``prob_<class>`` per class with more than two) and
    ``predicted``. ``label`` and ``predicted`` are class indices of the
    run's classes (:func:`run_classes`; class names are converted). ``models``
    as in :func:`collect_metrics`.
    """
    classes = run_classes(layout)
    predictions = _concat(_read_outputs(layout, outputs.PREDICTIONS_CSV, outputs.read_predictions, models),
                          outputs.prediction_columns(classes))
    for column in ("label", "predicted"):
        predictions[column] = _as_class_index(predictions[column], column, classes)
    return predictions


def _as_class_index(values, column, classes):
    as_index = values.replace({name: index for index, name in enumerate(classes)})
    as_index = pd.to_numeric(as_index, errors="coerce")
    bad = ~as_index.isin(range(len(classes)))
    if bad.any():
        raise ValueError(f"predictions: column {column!r} has values outside the classes {tuple(classes)} / "
                         f"0 to {len(classes) - 1}: {sorted(set(values[bad].astype(str)))[:5]}")
    return as_index.astype(int)


# --- summary statistics ------------------------------------------------------------

def mean_confidence_interval(values, *, confidence=0.95):
    """Mean, sample std and Student-t confidence interval of the mean.

    Parameters
    ----------
    values : array-like, shape (n_runs,)
    confidence : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    dict
        ``runs, mean, std, ci_low, ci_high``. ``std`` uses ``ddof=1``; the
        interval is ``mean +/- t.ppf((1 + confidence) / 2, n - 1) * std / sqrt(n)``.
        With fewer than two runs std and interval are NaN (undefined), with
        none the mean too.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = values.mean() if n else math.nan
    std = values.std(ddof=1) if n > 1 else math.nan
    half_width = stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return {"runs": n, "mean": mean, "std": std, "ci_low": mean - half_width, "ci_high": mean + half_width}


def summary_table(metrics, *, confidence=0.95, scores=None, n_classes=2):
    """Per model and score: mean, std and confidence interval over runs, beside the paper.

    Parameters
    ----------
    metrics : pandas.DataFrame
        From :func:`collect_metrics`.
    confidence : float
        Coverage of the Student-t interval (``n - 1`` degrees of freedom).
        The interval is clipped to [0, 1], the range of every score: with
        few runs it can reach past it (2 runs: ``t = 12.7``).
    scores : sequence of str, optional
        Default :func:`table_scores` of ``n_classes``.
    n_classes : int
        The run's number of classes (:func:`run_classes`). The paper's
        accuracies are of two classes: with more, ``paper`` is NaN.

    Returns
    -------
    pandas.DataFrame
        One row per model and score, columns ``model, modality, label,
        baseline, status, metric, runs, mean, std, ci_low, ci_high, paper,
        difference``. Every model of :data:`MODELS` is present; one without
        runs has ``status == "not run"``, ``runs == 0`` and NaN statistics.
        ``paper`` is the paper's accuracy (accuracy rows of the six deep
        models of a two-class run only) and ``difference = mean - paper``.
    """
    scores = table_scores(n_classes) if scores is None else scores
    run_models = list(dict.fromkeys(metrics["model"]))
    names = list(MODEL_INFO) + [m for m in run_models if m not in MODEL_INFO]
    rows = []
    for name in names:
        info = model_info(name)
        for score in scores:
            values = metrics.loc[(metrics["model"] == name) & (metrics["metric"] == score), "value"]
            paper = info.paper_accuracy if score == "accuracy" and n_classes == 2 else math.nan
            summary = mean_confidence_interval(values, confidence=confidence)
            summary.update(ci_low=max(summary["ci_low"], 0.0), ci_high=min(summary["ci_high"], 1.0))
            rows.append({
                "model": name, "modality": info.modality, "label": info.label, "baseline": info.baseline,
                "status": "ok" if len(values) else "not run", "metric": score, **summary,
                "paper": paper, "difference": summary["mean"] - paper,
            })
    return pd.DataFrame(rows)


def table1(summary):
    """Table 1 as one row per model that ran: accuracy with its interval, the paper, the other scores.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summary_table`.

    Returns
    -------
    pandas.DataFrame
        Columns ``data, model, name, runs, accuracy, accuracy_std,
        accuracy_ci_low, accuracy_ci_high, paper_accuracy, difference``, then
        the mean of every other score. Models without runs are left out
        (:func:`absent_models` says why).
    """
    by_model = summary.set_index(["model", "metric"])
    ran = summary.loc[(summary["metric"] == "accuracy") & (summary["runs"] > 0), "model"]
    rows = []
    for name in dict.fromkeys(ran):
        acc = by_model.loc[(name, "accuracy")]
        row = {"data": acc["modality"], "model": acc["label"], "name": name, "runs": int(acc["runs"]),
               "accuracy": acc["mean"], "accuracy_std": acc["std"], "accuracy_ci_low": acc["ci_low"],
               "accuracy_ci_high": acc["ci_high"], "paper_accuracy": acc["paper"],
               "difference": acc["difference"]}
        for metric in dict.fromkeys(summary["metric"]):
            if metric != "accuracy":
                row[metric] = by_model.loc[(name, metric), "mean"]
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else [
        "data", "model", "name", "runs", "accuracy", "accuracy_std", "accuracy_ci_low", "accuracy_ci_high",
        "paper_accuracy", "difference", *(m for m in dict.fromkeys(summary["metric"]) if m != "accuracy")])


def ran_models(summary, names):
    """The models of ``names`` with at least one run in ``summary``, in the given order, each once."""
    ran = set(summary.loc[summary["runs"] > 0, "model"])
    return [name for name in dict.fromkeys(names) if name is not None and name in ran]


def absent_models(summary, modalities):
    """Why each model of the catalogue without a run is absent from Table 1.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summary_table`.
    modalities : sequence of str
        The run's modalities (:func:`mer_utils.modality.load`).

    Returns
    -------
    dict
        Model name -> reason: ``"no audio in this run"`` (or lyrics, or both)
        when the run lacks a modality the model reads, else ``"not trained
        in this run"`` (its notebook did not run it, or stopped early).
    """
    not_run = summary.loc[(summary["metric"] == "accuracy") & (summary["runs"] == 0), "model"]
    reasons = {}
    for name in dict.fromkeys(not_run):
        lacking = [kind for kind in modalities_needed(name) if kind not in modalities]
        reasons[name] = f"no {' and no '.join(lacking)} in this run" if lacking else "not trained in this run"
    return reasons


def describe_absent(absent, modalities):
    """:func:`absent_models` as a sentence per reason (markdown), or that every model ran.

    Parameters
    ----------
    absent : dict
        From :func:`absent_models`.
    modalities : sequence of str
        The run's modalities.

    Returns
    -------
    str
    """
    if not absent:
        return "Every model of Table 1 ran."
    from .modality import describe

    lines = []
    for reason in dict.fromkeys(absent.values()):
        names = ", ".join(f"`{name}`" for name, why in absent.items() if why == reason)
        because = (f"this run has {describe(tuple(modalities))} ({reason}), the modalities notebook 01 resolved"
                   if reason.startswith("no ") else
                   "they were not trained in this run (their notebook or profile variant did not run, "
                   "or stopped before saving)")
        lines.append(f"- Not in the table: {names}, because {because}.")
    return "\n".join(lines)


def _fmt(value, spec=".4f"):
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def table1_markdown(table):
    """Table 1 (from :func:`table1`) as a GitHub markdown table, for the README.

    Accuracy is written ``mean ± std`` with the confidence interval beside
    it; models without runs read "not run". A table of more than two classes
    (a ``macro_f1`` column, no ``f1``) shows the macro-F1 and a one-vs-rest ROC-AUC.
    """
    f1 = "f1" if "f1" in table.columns else "macro_f1"
    header = ["Data", "Model", "Runs", "Accuracy (mean ± std)", "95% CI", "Paper", "Difference",
              "Balanced acc.", "F1" if f1 == "f1" else "Macro-F1", "ROC-AUC" if f1 == "f1" else "ROC-AUC (one-vs-rest)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table.itertuples(index=False):
        if row.runs == 0:
            cells = [row.data, row.model, "0", "not run", "", _fmt(row.paper_accuracy), "", "", "", ""]
        else:
            accuracy = _fmt(row.accuracy) + (f" ± {_fmt(row.accuracy_std)}" if row.runs > 1 else "")
            interval = f"[{_fmt(row.accuracy_ci_low)}, {_fmt(row.accuracy_ci_high)}]" if row.runs > 1 else ""
            cells = [row.data, row.model, str(row.runs), accuracy, interval, _fmt(row.paper_accuracy),
                     _fmt(row.difference, "+.4f"), _fmt(row.balanced_accuracy), _fmt(getattr(row, f1)),
                     _fmt(row.roc_auc)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def best_model_per_modality(summary, *, include_baselines=False):
    """The deep model with the highest mean validation accuracy, per modality.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summary_table`.
    include_baselines : bool
        Let the classical baselines compete too (default: Table 1's models only).

    Returns
    -------
    dict
        ``{modality: model_name}`` for the modalities of :data:`MODALITIES`
        with at least one model run (ties go to the first model in Table 1's order).
    """
    accuracy = summary[(summary["metric"] == "accuracy") & (summary["runs"] > 0)]
    if not include_baselines:
        accuracy = accuracy[~accuracy["baseline"]]
    best = {}
    for modality in MODALITIES:
        candidates = accuracy[accuracy["modality"] == modality]
        if len(candidates):
            best[modality] = candidates.loc[candidates["mean"].idxmax(), "model"]
    return best


# --- paired comparison -------------------------------------------------------------

#: Columns of :func:`paired_comparison`'s result, in order (``paired_tests.csv``). The tests are named
#: once, in :data:`PAIRED_TESTS`, not in every row.
PAIRED_COLUMNS = (
    "model_a", "model_b", "metric", "n_pairs", "mean_a", "mean_b", "mean_difference", "std_difference",
    "t_statistic", "t_p_value", "wilcoxon_statistic", "wilcoxon_p_value", "wilcoxon_min_p", "note",
)
T_TEST = "paired t-test (two-sided, n-1 degrees of freedom)"
WILCOXON_TEST = "Wilcoxon signed-rank test (two-sided, exact null distribution, zero differences dropped)"
#: Column prefix -> the test whose results those columns hold.
PAIRED_TESTS = {"t": T_TEST, "wilcoxon": WILCOXON_TEST}


def paired_comparison(metrics, model_a, model_b, *, metric="accuracy"):
    """Compare two models run by run on the splits both ran on.

    Parameters
    ----------
    metrics : pandas.DataFrame
        From :func:`collect_metrics`.
    model_a, model_b : str
        The difference is ``a - b`` per split.
    metric : str

    Returns
    -------
    dict
        ``model_a, model_b, metric, n_pairs, mean_a, mean_b, mean_difference,
        std_difference, t_statistic, t_p_value, wilcoxon_statistic,
        wilcoxon_p_value, wilcoxon_min_p, note`` (the tests: :data:`PAIRED_TESTS`).
        ``wilcoxon_min_p = 2 / 2**m`` is the smallest two-sided p value the
        exact test can give with ``m`` non-zero differences. Tests that are
        undefined (fewer than two pairs, all differences equal) give NaN and
        say why in ``note``.

    Raises
    ------
    ValueError
        If either model has no run of ``metric``.
    """
    runs = {}
    for name in (model_a, model_b):
        selected = metrics[(metrics["model"] == name) & (metrics["metric"] == metric)]
        if selected.empty:
            raise ValueError(f"paired comparison: model {name!r} has no {metric!r} runs")
        runs[name] = selected.set_index("split")["value"]
    a, b = runs[model_a], runs[model_b]
    common = a.index.intersection(b.index).sort_values()
    diff = (a[common] - b[common]).to_numpy()
    n, nonzero = len(diff), int(np.count_nonzero(diff))
    notes = []
    if n < max(len(a), len(b)):
        notes.append(f"only {n} of the splits were run by both models")

    t_stat = t_p = w_stat = w_p = math.nan
    if n < 2:
        notes.append("fewer than 2 paired runs: no test is possible")
    else:
        if np.std(diff) <= 1e-12 * max(1.0, np.abs(diff).max()):
            notes.append("all differences are equal: the t statistic is undefined")
        else:
            t_stat, t_p = stats.ttest_rel(a[common], b[common])
        if nonzero:
            w_stat, w_p = stats.wilcoxon(diff, method="exact")
        else:
            notes.append("all differences are zero: the Wilcoxon test has nothing to rank")
    min_p = min(1.0, 2.0 / 2**nonzero) if nonzero else math.nan
    if nonzero and min_p > 0.05:
        notes.append(f"with {nonzero} non-zero differences the Wilcoxon test cannot give p below "
                     f"{min_p:.4g}, so it can never reach 0.05 here")
    return {
        "model_a": model_a, "model_b": model_b, "metric": metric, "n_pairs": n,
        "mean_a": a[common].mean() if n else math.nan, "mean_b": b[common].mean() if n else math.nan,
        "mean_difference": diff.mean() if n else math.nan,
        "std_difference": diff.std(ddof=1) if n > 1 else math.nan,
        "t_statistic": float(t_stat), "t_p_value": float(t_p),
        "wilcoxon_statistic": float(w_stat), "wilcoxon_p_value": float(w_p),
        "wilcoxon_min_p": min_p, "note": "; ".join(notes),
    }


#: The claims notebook 07 checks, in order: finding -> (A, B, claim that A beats B). A and B are
#: a modality (its best deep model, :func:`best_model_per_modality`) or a baseline's name.
CLAIMS = {
    "fused_beats_best_audio": ("both", "audio", "the fused model beats the best audio model (paper)"),
    "fused_beats_best_lyrics": ("both", "lyrics", "the fused model beats the best lyrics model (paper)"),
    "lyrics_beat_audio": ("lyrics", "audio", "the best lyrics model beats the best audio model (paper)"),
    "best_audio_beats_baseline": ("audio", AUDIO_BASELINE,
                                  "the best audio model beats the mel-statistics baseline"),
    "best_lyrics_beats_baseline": ("lyrics", LYRICS_BASELINE, "the best lyrics model beats the TF-IDF baseline"),
}


def claim_models(best):
    """``{finding: (model_a, model_b)}`` for every claim of :data:`CLAIMS`; ``None`` where no model ran."""
    def resolve(side):
        return best.get(side) if side in MODALITIES else side

    return {key: (resolve(a), resolve(b)) for key, (a, b, _) in CLAIMS.items()}


def comparison_pairs(best):
    """The paired comparisons notebook 07 reports: one per claim of :data:`CLAIMS` whose modalities ran.

    Fused against the best audio and the best lyrics model, lyrics against
    audio (the paper's claims), then each modality's best deep model against
    its classical baseline.
    """
    return [(a, b) for a, b in claim_models(best).values() if a is not None and b is not None]


def paired_tests(metrics, pairs, *, metric="accuracy"):
    """:func:`paired_comparison` for each ``(model_a, model_b)`` whose models both ran; one row each."""
    ran = set(metrics.loc[metrics["metric"] == metric, "model"])
    rows = [paired_comparison(metrics, a, b, metric=metric) for a, b in pairs if a in ran and b in ran]
    return pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))


def paired_tests_display(paired):
    """:func:`paired_tests`' table for reading: columns grouped under the pair, the metric and each test.

    Parameters
    ----------
    paired : pandas.DataFrame
        From :func:`paired_tests` (one metric).

    Returns
    -------
    pandas.DataFrame
        The same rows; two-level columns, so that each test's full name
        (:data:`PAIRED_TESTS`) heads its columns once instead of filling a
        column of every row: ``(pair, model_a)`` ... ``(<metric>, mean_a)``
        ... ``(<t-test name>, statistic)``, ``(<t-test name>, p_value)``,
        ``(<Wilcoxon name>, statistic)``, ``p_value``, ``min_p``, ``("", note)``.
    """
    metric = paired["metric"].iloc[0] if len(paired) else "accuracy"
    groups = {"pair": ("model_a", "model_b", "n_pairs"),
              metric: ("mean_a", "mean_b", "mean_difference", "std_difference")}
    for prefix, test in PAIRED_TESTS.items():
        groups[test] = tuple(c for c in PAIRED_COLUMNS if c.startswith(f"{prefix}_"))
    groups[""] = ("note",)
    columns = [(group, column) for group, names in groups.items() for column in names]
    table = paired.loc[:, [column for _, column in columns]]
    table.columns = pd.MultiIndex.from_tuples([
        (group, column.split("_", 1)[1] if group in PAIRED_TESTS.values() else column) for group, column in columns])
    return table


# --- reporting ---------------------------------------------------------------------

def results_record(summary, paired, best, *, confidence=0.95, alpha=0.05, absent=None):
    """Everything notebook 07 concludes, as one JSON-ready dict (``results/summary.json``).

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summary_table` (computed with the same ``confidence``).
    paired : pandas.DataFrame
        From :func:`paired_tests`.
    best : dict
        From :func:`best_model_per_modality`.
    alpha : float
        Level at which a paired t-test p value is called significant.
    absent : dict, optional
        From :func:`absent_models`: why models did not run.

    Returns
    -------
    dict
        ``interval, alpha, models, best_per_modality, paired_test_methods
        (:data:`PAIRED_TESTS`), paired_tests, findings``, and ``absent``
        when given; NaN is written as ``null``. ``findings`` holds one entry
        per claim of :data:`CLAIMS`: its models, their mean accuracies,
        ``holds`` (A's mean is higher; ``null`` when a model did not run) and
        the paired tests' p values with ``significant``.
    """
    models = {}
    for name, rows in summary.groupby("model", sort=False):
        first = rows.iloc[0]
        models[name] = {
            "data": first["modality"], "model": first["label"], "baseline": bool(first["baseline"]),
            "runs": int(first["runs"]), "paper_accuracy": rows.loc[rows["metric"] == "accuracy", "paper"].iloc[0],
            **{row["metric"]: {k: row[k] for k in ("mean", "std", "ci_low", "ci_high")}
               for _, row in rows.iterrows()},
        }
    record = {
        "interval": f"{confidence:.0%} confidence interval of the mean over runs, Student t with n-1 "
                    "degrees of freedom; std with ddof=1",
        "alpha": alpha,
        "models": models,
        "best_per_modality": best,
        "paired_test_methods": PAIRED_TESTS,
        "paired_tests": paired.to_dict(orient="records"),
        "findings": _findings(models, outputs.json_safe(paired.to_dict(orient="records")), best, alpha=alpha),
    }
    if absent is not None:
        record["absent"] = dict(absent)
    return outputs.json_safe(record)


def _findings(models, paired, best, *, alpha):
    """Each claim of :data:`CLAIMS`: its models, whether A's mean is higher, and the paired tests."""
    tests = {(row["model_a"], row["model_b"]): row for row in paired}
    findings = {}
    for key, (model_a, model_b) in claim_models(best).items():
        runs = [models.get(m, {}).get("runs", 0) for m in (model_a, model_b)]
        if model_a is None or model_b is None or 0 in runs:
            findings[key] = {"claim": CLAIMS[key][2], "model_a": model_a, "model_b": model_b, "holds": None}
            continue
        mean_a, mean_b = (models[m]["accuracy"]["mean"] for m in (model_a, model_b))
        test = tests.get((model_a, model_b), {})
        p_value = test.get("t_p_value")
        findings[key] = {
            "claim": CLAIMS[key][2], "model_a": model_a, "model_b": model_b,
            "accuracy_a": mean_a, "accuracy_b": mean_b, "difference": mean_a - mean_b,
            "holds": bool(mean_a > mean_b), "n_pairs": test.get("n_pairs"),
            "t_p_value": p_value, "wilcoxon_p_value": test.get("wilcoxon_p_value"),
            "significant": None if p_value is None else bool(p_value < alpha),
        }
    return findings


def describe_findings(record):
    """The claims of :data:`CLAIMS` checked against this run, in plain sentences (markdown).

    Parameters
    ----------
    record : dict
        From :func:`results_record`.

    Returns
    -------
    str
    """
    alpha = record["alpha"]
    lines = []
    for finding in record["findings"].values():
        claim = finding["claim"][0].upper() + finding["claim"][1:]
        if finding["holds"] is None:
            lines.append(f"- {claim}: not checked, a model it needs did not run.")
            continue
        direction = ("higher" if finding["holds"] else
                     "equal" if finding["difference"] == 0 else "lower")
        line = (f"- {claim}: **{'yes' if finding['holds'] else 'no'}** in the means, "
                f"{finding['model_a']} {finding['accuracy_a']:.4f} vs {finding['model_b']} "
                f"{finding['accuracy_b']:.4f} ({direction})")
        if finding["significant"] is None:
            line += "; no paired test possible"
        else:
            wilcoxon = finding["wilcoxon_p_value"]
            line += (f"; paired over {finding['n_pairs']} runs, t-test p = {finding['t_p_value']:.3g}"
                     + ("" if wilcoxon is None else f", Wilcoxon p = {wilcoxon:.3g}")
                     + f": {'' if finding['significant'] else 'not '}significant at {alpha:g} (t-test)")
        lines.append(line + ".")
    return "\n".join(lines)


def save_results(layout, *, table, paired, record):
    """Write ``results/table1.csv``, ``table1.md``, ``paired_tests.csv`` and ``summary.json``.

    Parameters
    ----------
    layout : RunLayout
    table : pandas.DataFrame
        From :func:`table1`.
    paired : pandas.DataFrame
        From :func:`paired_tests`.
    record : dict
        From :func:`results_record`.

    Returns
    -------
    dict
        File kind -> path written.
    """
    out = layout.results_dir
    paths = {"table1": out / "table1.csv", "table1_md": out / "table1.md",
             "paired_tests": out / "paired_tests.csv", "summary": out / "summary.json"}
    outputs.write_csv(paths["table1"], table)
    write_text(paths["table1_md"], table1_markdown(table))
    outputs.write_csv(paths["paired_tests"], paired)
    outputs.write_strict_json(paths["summary"], record)
    return paths
