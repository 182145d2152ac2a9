"""Retrain one model of a finished run under other training options, on the same splits.

Used to investigate a model that falls short (docs/results.md lists what was
tried). Each option set trains into ``<run>/sweeps/<label>/`` (a copy of the
run's ``data/`` folder), so the run itself is untouched; a table of mean
validation scores per option set is printed at the end.

    .venv/bin/python scripts/sweep_training.py papermill_runs/mirex/latest lyrics_cnn \
        --base epochs=30 patience=5 --try dropout=0.5 --try "dropout=0.5 vocab_size=5000"

With ``--nested`` each set is trained never-tuned instead
(:func:`mer_utils.beyond.train_nested`: early stopping on an inner validation
part, scores on the outer folds, which nothing saw), and every set after the
first is compared with the first, split by split (paired t-test on balanced
accuracy):

    .venv/bin/python scripts/sweep_training.py papermill_runs/mirex/latest lyrics_cnn --nested \
        --base epochs=30 patience=5 --try embedding_init=random --try embedding_init=wordllama
"""

import argparse
import shutil
from pathlib import Path

import pandas as pd

from mer_utils import beyond, config, results, training
from mer_utils import run as runner
from mer_utils.paths import RunLayout


def sweep(run_dir, model_name, option_sets, *, base, nested=False):
    """Train ``model_name`` once per option set; return one row of mean scores per set.

    With ``nested``, train never-tuned and add, for each set after the first,
    the mean difference of balanced accuracy to the first set over the same
    splits and its paired t-test p value.
    """
    rows, scores = [], []
    for options in option_sets:
        label = "_".join(f"{k}-{v}" for k, v in options.items()) or "base"
        target = RunLayout(Path(run_dir) / "sweeps" / f"{model_name}_{label}{'_nested' if nested else ''}")
        shutil.copytree(RunLayout(run_dir).data_dir, target.data_dir, dirs_exist_ok=True)
        merged = {**base, **options}
        if nested:
            merged.setdefault("seed", config.SEED)
            summary = beyond.train_nested(model_name, target, **merged)
        else:
            summary = training.train_on_splits(model_name, target, **merged)
        row = {"options": label, **summary[["accuracy", "balanced_accuracy", "f1", "roc_auc",
                                            "epochs_run"]].mean().round(4).to_dict()}
        scores.append(summary.assign(model=label, metric="balanced_accuracy")
                      .rename(columns={"balanced_accuracy": "value"})[["model", "split", "metric", "value"]])
        if nested and len(scores) > 1:
            test = results.paired_comparison(pd.concat(scores), label, rows[0]["options"], metric="balanced_accuracy")
            row.update(vs_first=round(test["mean_difference"], 4), t_p_value=round(test["t_p_value"], 4))
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("model_name")
    parser.add_argument("--base", nargs="*", default=[], metavar="NAME=VALUE", help="options of every set")
    parser.add_argument("--nested", action="store_true",
                        help="train never-tuned (inner early stopping, outer folds scored) and compare with the first set")
    parser.add_argument("--try", dest="sets", action="append", default=[], metavar='"NAME=VALUE ..."',
                        help="one option set (repeatable); none: the base options alone")
    args = parser.parse_args(argv)
    base = runner.parse_overrides(args.base)
    option_sets = [runner.parse_overrides(s.split()) for s in args.sets] or [{}]
    training.configure_device()
    print(sweep(args.run_dir, args.model_name, option_sets, base=base, nested=args.nested).to_string(index=False))


if __name__ == "__main__":
    main()
