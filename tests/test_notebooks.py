"""Structure of the committed notebooks and their agreement with config and profiles."""

import ast

import nbformat
import pytest

from mer_utils import config
from mer_utils.pretrained import musicnn_finetune
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
    "executor": config.EXECUTOR,
    "feature_memory_mb": config.FEATURE_MEMORY_MB,
    "embedding_init": config.EMBEDDING_INIT,
    "finetune_epochs": musicnn_finetune.EPOCHS,
    "crop_frames": config.CROP_FRAMES,
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
    assert "setup(run_dir, seed=seed" in code[1].source, "derived values start with setup()"


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
    per_variant = {"audio_models", "lyrics_models"}
    for name, values in seen.items():
        if name not in per_variant:
            assert len({repr(v) for v in values.values()}) == 1, f"{name} defaults differ: {values}"


@pytest.mark.parametrize("name", [p for p in runner.available_profiles() if p != "defaults"])
def test_every_profile_plans_cleanly(name, tmp_path):
    """Each profile's parameters are declared by some notebook, variants name real notebooks."""
    plan = runner.plan_run(runner.load_profile(name), runner.discover_notebooks(), tmp_path)
    assert [nb.name[:2] for nb, _, _ in plan][0] == "01"


# --- hand runs, exercises, glossary (issue 14) ---------------------------------------------------

def notebook_path(number):
    (path,) = [p for p in NOTEBOOKS if p.name.startswith(f"{number}_")]
    return path


@pytest.mark.parametrize(("number", "parameter", "modality"),
                         [("04", "audio_models", "audio"), ("05", "lyrics_models", "lyrics")])
def test_by_hand_a_model_notebook_trains_every_model_the_runner_trains(number, parameter, modality, tmp_path):
    from mer_utils import catalogue

    path = notebook_path(number)
    trained = [name for name in catalogue.MODEL_INPUTS if name.startswith(f"{modality}_")]
    default = parameter_defaults(nbformat.read(path, as_version=4))[parameter]
    assert [f"{modality}_{m}" for m in default] == trained, "the default list holds every model, in order"
    profile = runner.load_profile("demo")
    executions = [params for nb, _, params in runner.plan_run(profile, runner.discover_notebooks(), tmp_path)
                  if nb == path]
    assert sorted(m for params in executions for m in params[parameter]) == sorted(default)
    assert all(len(params[parameter]) == 1 for params in executions), "the runner runs one model per execution"
    profile["variants"] = {}  # a run without variants, like a hand run, passes no list: the default trains all
    (single,) = [params for nb, _, params in runner.plan_run(profile, runner.discover_notebooks(), tmp_path)
                 if nb == path]
    assert parameter not in single


def test_a_hand_run_with_quick_gives_the_demo_profiles_numbers():
    """Every parameter the demo profile sets is the notebooks' default, but epochs and patience: quick's."""
    demo = runner.load_profile("demo")["parameters"]
    assert (demo["epochs"], demo["patience"]) == (config.QUICK_EPOCHS, config.QUICK_PATIENCE)
    for path in NOTEBOOKS:
        defaults = parameter_defaults(nbformat.read(path, as_version=4))
        for name in set(defaults) & set(demo) - {"epochs", "patience"}:
            assert defaults[name] == demo[name], f"{path.name}: by hand {name}={defaults[name]!r}, demo {demo[name]!r}"
        if "epochs" in defaults:
            assert defaults["quick"] is False and "config.QUICK_EPOCHS, config.QUICK_PATIENCE" in \
                nbformat.read(path, as_version=4).cells[2].source, f"{path.name}: quick sets the demo schedule"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_ends_with_an_exercise_that_a_run_leaves_off(path):
    nb = nbformat.read(path, as_version=4)
    question, exercise = nb.cells[-2:]
    assert question.cell_type == "markdown" and question.source.startswith("## Try it")
    assert "**Question:**" in question.source and "(../docs/glossary.md)" in question.source
    (flag, guarded) = ast.parse(exercise.source).body
    assert ast.unparse(flag) == "try_it = False", "off unless the reader turns it on"
    assert isinstance(guarded, ast.If) and ast.unparse(guarded.test) == "try_it" and not guarded.orelse


def test_the_glossary_explains_the_terms_the_notebooks_use():
    from mer_utils.paths import REPO_ROOT

    glossary = (REPO_ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    headings = [line[4:].lower() for line in glossary.splitlines() if line.startswith("### ")]
    assert headings == sorted(headings), "entries in alphabetical order"
    for term in ("gru", "global max pooling", "log-odds", "roc-auc", "out-of-vocabulary (oov)", "mel spectrogram",
                 "early stopping", "dropout", "paired t-test", "wilcoxon signed-rank test", "tf-idf", "nyquist",
                 "macro-f1", "one-vs-rest", "fine-tuning", "late fusion", "stacking", "nested evaluation",
                 "pretrained features", "random crop", "zero-shot", "penultimate layer", "corrected"):
        assert any(term in heading for heading in headings), f"the glossary has no entry for {term!r}"
    for path in NOTEBOOKS:
        assert "](../docs/glossary.md)" in "".join(c.source for c in nbformat.read(path, as_version=4).cells)


@pytest.mark.parametrize("number", ["04", "05", "06", "07"])
def test_model_and_results_notebooks_state_their_run_time(number):
    intro = nbformat.read(notebook_path(number), as_version=4).cells[0].source
    assert "**Run time**" in intro and "laptop-class CPU" in intro


#: Modules whose import brings TensorFlow in (directly or through Keras).
TENSORFLOW_MODULES = ("models", "training", "predict", "explain", "beyond", "pretrained")


def _imports_tensorflow(line):
    """Whether a code line imports one of :data:`TENSORFLOW_MODULES` from mer_utils."""
    line = line.split("#")[0]
    if line.startswith("from mer_utils."):
        return line.split()[1].split(".")[1] in TENSORFLOW_MODULES
    if line.startswith("from mer_utils import"):
        return any(name.strip(" ()") in TENSORFLOW_MODULES for name in line.split("import", 1)[1].split(","))
    return False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_that_load_tensorflow_quiet_it_first(path):
    """TensorFlow's start-up lines (oneDNN, absl) must not reach the reader: setup(tensorflow=True) comes first."""
    lines = [line for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
             for line in c.source.splitlines()]
    tf_imports = [i for i, line in enumerate(lines) if _imports_tensorflow(line)]
    if not tf_imports:
        pytest.skip("imports no TensorFlow module")
    quiet = [i for i, line in enumerate(lines) if "setup(" in line and "tensorflow=True" in line]
    assert quiet and quiet[0] < tf_imports[0], (
        f"{path.name}: call setup(..., tensorflow=True) before {lines[tf_imports[0]].strip()!r}")
