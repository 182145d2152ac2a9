"""The fitted logistic regression kept as arrays: the same probabilities as scikit-learn's, readable files."""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import make_pipeline

from mer_utils.beyond import make_logistic
from mer_utils.linear_model import LinearModel


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 5)), columns=[f"f{i}" for i in range(5)])
    y = (X["f2"] - 0.5 * X["f4"] + rng.normal(scale=0.5, size=80) > 0).astype(int)
    X.iloc[::7, 1] = np.nan  # the imputer learns the training mean
    return X, y, make_logistic(seed=0, C=0.5).fit(X, y)


def test_probabilities_are_scikit_learns(fitted):
    X, _, pipeline = fitted
    model = LinearModel.from_pipeline(pipeline, X.columns)
    new = X.sample(frac=1, random_state=1).iloc[:20].copy()
    new.iloc[0, :] = np.nan  # a song with no features at all gets the training means
    np.testing.assert_allclose(model.prob_positive(new), pipeline.predict_proba(new)[:, 1], atol=1e-12)
    reordered = new[list(reversed(new.columns))]
    np.testing.assert_allclose(model.prob_positive(reordered), model.prob_positive(new))  # columns read by name
    np.testing.assert_allclose(model.probabilities(new), pipeline.predict_proba(new), atol=1e-12)


@pytest.fixture
def fitted_three_classes(fitted):
    X, y, _ = fitted
    y = y + (X["f0"].fillna(0) > 0.8).astype(int) * (2 - y)  # class 2: f0 large
    return X, y, make_logistic(seed=0, C=0.5).fit(X, y)


def test_a_multinomial_model_gives_scikit_learns_probabilities(fitted_three_classes, tmp_path):
    X, y, pipeline = fitted_three_classes
    assert sorted(set(y)) == [0, 1, 2]
    model = LinearModel.from_pipeline(pipeline, X.columns)
    assert model.n_classes == 3 and model.coef.shape == (3, 5) and model.intercept.shape == (3,)
    np.testing.assert_allclose(model.probabilities(X), pipeline.predict_proba(X), atol=1e-12)
    assert LinearModel.load(model.save(tmp_path / "m.npz")) == model
    with pytest.raises(ValueError, match="3-class model has no positive class"):
        model.prob_positive(X)
    # class 2's pushes sum, with its intercept, to its softmax score; f0 pushes it most
    pushes = model.contributions(X, target=2)
    scores = np.stack([model.contributions(X, target=k).sum(axis=1) + model.intercept[k] for k in range(3)], axis=1)
    np.testing.assert_allclose(np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True), model.probabilities(X))
    assert X.columns[np.abs(pushes).mean(axis=0).argmax()] == "f0"
    with pytest.raises(ValueError, match="target 3 is not a class"):
        model.contributions(X, target=3)


def test_saved_and_loaded_it_is_the_same_model(fitted, tmp_path):
    X, _, pipeline = fitted
    model = LinearModel.from_pipeline(pipeline, X.columns)
    assert LinearModel.load(model.save(tmp_path / "m.npz")) == model
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.npz: not a readable linear model"):
        LinearModel.load(tmp_path / "broken.npz")


def test_the_pushes_of_the_features_add_up_to_the_decision(fitted):
    X, _, pipeline = fitted
    model = LinearModel.from_pipeline(pipeline, X.columns)
    pushes = model.contributions(X.iloc[:5])
    assert pushes.shape == (5, 5)
    logit = pushes.sum(axis=1) + model.intercept
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), model.prob_positive(X.iloc[:5]))
    np.testing.assert_allclose(model.contributions(X.iloc[:5], target=0), -pushes)  # towards negative
    strongest = np.abs(pushes).mean(axis=0).argsort()[::-1][:2]
    assert {X.columns[i] for i in strongest} == {"f2", "f4"}, "the informative features push hardest"


def test_predict_averages_and_explains_a_multinomial_row(fitted_three_classes):
    """mer_utils.predict's notebook 08 row: the mean of its split fits, explained towards the class it chose."""
    import types

    from mer_utils.catalogue import PRETRAINED_AUDIO
    from mer_utils.predict import FeatureModel

    X, y, pipeline = fitted_three_classes
    splits = [LinearModel.from_pipeline(pipeline, X.columns),
              LinearModel.from_pipeline(make_logistic(seed=0, C=0.1).fit(X, y), X.columns)]
    row = FeatureModel(PRETRAINED_AUDIO, ("musicnn",), splits)
    song = types.SimpleNamespace(features={"musicnn": X.iloc[[3]]})
    expected = np.mean([split.probabilities(X.iloc[[3]])[0] for split in splits], axis=0)
    np.testing.assert_allclose(row.probabilities(song), expected)
    assert row.n_classes == 3
    chosen = int(np.argmax(expected))
    pushes = row.explain(song, top=5)
    towards_chosen = np.mean([split.contributions(X.iloc[[3]], target=chosen)[0] for split in splits], axis=0)
    np.testing.assert_allclose(pushes["contribution"].to_numpy(),
                               towards_chosen[np.argsort(-np.abs(towards_chosen))])


def test_only_the_notebook_08_pipeline_on_classes_from_0_is_read(fitted):
    X, y, _ = fitted
    with pytest.raises(ValueError, match="expected SimpleImputer, StandardScaler, LogisticRegression"):
        LinearModel.from_pipeline(make_pipeline(DummyClassifier()).fit(X.fillna(0), y), X.columns)
    with pytest.raises(ValueError, match="classes 0 to K - 1 \\(K >= 2\\), got \\[1, 2\\]"):
        LinearModel.from_pipeline(make_logistic(seed=0).fit(X, y + 1), X.columns)
    with pytest.raises(ValueError, match="4 column names for 5 features"):
        LinearModel.from_pipeline(make_logistic(seed=0).fit(X, y), X.columns[:4])
