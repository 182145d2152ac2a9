"""Structure of the committed notebooks and their agreement with config and profiles."""

import ast

import nbformat
import pytest

from mer_utils import config
from mer_utils import run as runner
from mer_utils.paths import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: Notebook parameters whose defaults must equal the paper's values in config.
CONFIG_DEFAULTS = {
    "seed": config.SEED,
    "min_duration_s": config.MIN_DURATION_S,
    "min_lyrics_words": config.MIN_LYRICS_WORDS,
    "n_splits": config.N_SPLITS,
    "val_fraction": config.VAL_FRACTION,
    "sample_rate": config.SAMPLE_RATE,
    "clip_seconds": config.CLIP_SECONDS,
    "n_mels": config.N_MELS,
    "n_frames": config.N_FRAMES,
    "n_fft": config.N_FFT,
    "vocab_size": config.VOCAB_SIZE,
    "max_len": config.MAX_LEN,
    "epochs": config.EPOCHS,
    "batch_size": config.BATCH_SIZE,
    "learning_rate": config.LEARNING_RATE,
    "dropout": config.DROPOUT,
    "patience": config.PATIENCE,
    "class_weights": config.CLASS_WEIGHTS,
    "mixed_precision": config.MIXED_PRECISION,
    "korean_tagger": config.KOREAN_TAGGER,
    "demo_n_tracks": config.DEMO_N_TRACKS,
    "balance_classes": config.BALANCE_CLASSES,
    "split_scheme": config.SPLIT_SCHEME,
    "group_by_artist": config.GROUP_BY_ARTIST,
}


def parameter_defaults(nb):
    """Literal defaults of the notebook's parameters cell: {name: value}."""
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    values = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.AnnAssign):
            values[node.target.id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.Assign):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_the_sequence_exists():
    assert [p.name[:2] for p in runner.discover_notebooks()] == sorted({p.name[:2] for p in NOTEBOOKS})
    assert NOTEBOOKS, "no notebooks committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "committed with outputs"
    assert code[0] is tagged[0], "the parameters cell is the first code cell"
    defaults = parameter_defaults(nb)
    assert defaults.get("run_dir") == "" and "seed" in defaults
    assert "setup(run_dir, seed=seed)" in code[1].source, "derived values start with setup()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameter_defaults_are_the_papers(path):
    defaults = parameter_defaults(nbformat.read(path, as_version=4))
    for name, expected in CONFIG_DEFAULTS.items():
        if name in defaults:
            assert defaults[name] == expected, f"{path.name}: {name} default differs from mer_utils.config"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(path):
    """papermill skips a parameter line it cannot parse (an '=' in its comment, say)."""
    import papermill

    assert set(papermill.inspect_notebook(str(path))) == set(parameter_defaults(nbformat.read(path, as_version=4)))


def test_shared_parameter_names_have_one_default():
    seen = {}
    for path in NOTEBOOKS:
        for name, value in parameter_defaults(nbformat.read(path, as_version=4)).items():
            seen.setdefault(name, {})[path.name] = value
    per_variant = {"audio_model", "lyrics_model"}
    for name, values in seen.items():
        if name not in per_variant:
            assert len({repr(v) for v in values.values()}) == 1, f"{name} defaults differ: {values}"


@pytest.mark.parametrize("name", [p for p in runner.available_profiles() if p != "defaults"])
def test_every_profile_plans_cleanly(name, tmp_path):
    """Each profile's parameters are declared by some notebook, variants name real notebooks."""
    plan = runner.plan_run(runner.load_profile(name), runner.discover_notebooks(), tmp_path)
    assert [nb.name[:2] for nb, _, _ in plan][0] == "01"
