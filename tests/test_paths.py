"""Paths are named without touching the disk; writers create the folders they write into."""

import pandas as pd
import pytest

from mer_utils import paths
from mer_utils.accounting import LEDGER_COLUMNS
from mer_utils.paths import RunLayout, mirex_root


def test_naming_paths_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))
    layout = RunLayout(tmp_path / "run")
    named = [layout.data_dir, layout.tracks_csv, layout.mels_csv, layout.splits_json, layout.tokens_json,
             layout.figures_dir, layout.models_dir, layout.model_dir("fused", 0), layout.results_dir,
             paths.cache_dir("mels"), paths.raw_dir("demo")]
    assert all(p.is_relative_to(tmp_path) for p in named)
    assert list(tmp_path.iterdir()) == []


def test_writers_create_the_layout_folders_they_write_into(layout):
    import matplotlib.pyplot as plt

    from mer_utils.accounting import write_ledger
    from mer_utils.fileio import write_json
    from mer_utils.notebook import save_figure

    assert write_json(layout.model_dir("fused", 1) / "provenance.json", {"seed": 1}).is_file()
    fig, _ = plt.subplots()
    assert save_figure(fig, layout, "empty").is_file()
    plt.close(fig)
    ledger_path = RunLayout(layout.run_dir / "other").tracks_csv
    write_ledger(pd.DataFrame(columns=list(LEDGER_COLUMNS)), ledger_path)
    assert ledger_path.is_file()


@pytest.mark.parametrize("inner", ["", "dataset"])
def test_mirex_root_accepts_the_shipped_and_the_flat_layout(tmp_path, inner):
    root = tmp_path / inner
    root.mkdir(exist_ok=True)
    assert mirex_root(tmp_path) is None
    (root / "categories.txt").write_text("Cheerful\n", encoding="utf-8")
    assert mirex_root(tmp_path) == root.resolve()
