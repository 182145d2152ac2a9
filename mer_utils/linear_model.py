"""A fitted logistic regression on named feature columns, kept as plain arrays (no pickle).

Notebook 08's pretrained rows (:mod:`mer_utils.beyond`) fit, on each outer
training part, mean imputation, standardisation and a logistic regression
(:func:`mer_utils.beyond.make_logistic`) on musicnn or lyrics features. Each
split saves that fit as a :class:`LinearModel` (``linear_model.npz``, beside
its ``predictions.csv``), so that :mod:`mer_utils.predict` can score new
songs with it without scikit-learn's pickles, which tie a file to the
library's version and run code when loaded. The arithmetic is short enough
to read::

    z = (x, missing values filled with the training means - mean) / scale
    p(positive) = 1 / (1 + exp(-(z . coef + intercept)))

and ``z * coef`` says how much each feature pushed the song towards the
positive class (:meth:`LinearModel.contributions`).
"""

from dataclasses import dataclass

import numpy as np

from .fileio import atomic_write

#: File of a split's fitted model, beside its predictions.
LINEAR_MODEL_FILE = "linear_model.npz"
#: The per-feature arrays of a :class:`LinearModel`, as they are stored.
_ARRAYS = ("fill", "mean", "scale", "coef")


@dataclass(frozen=True, eq=False)
class LinearModel:
    """Imputation, standardisation and a binary logistic regression, as arrays.

    Attributes
    ----------
    columns : tuple of str
        The features, in the order of the arrays (``n_features``).
    fill : np.ndarray [shape=(n_features,)]
        Value of a missing feature (the training part's mean).
    mean, scale : np.ndarray [shape=(n_features,)]
        Standardisation: ``(x - mean) / scale``.
    coef : np.ndarray [shape=(n_features,)]
        Weights of the standardised features for the positive class.
    intercept : float
    """

    columns: tuple
    fill: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __eq__(self, other):
        """Same columns and the same numbers (arrays compared by value)."""
        if not isinstance(other, LinearModel):
            return NotImplemented
        return (self.columns == other.columns and self.intercept == other.intercept
                and all(np.array_equal(getattr(self, name), getattr(other, name)) for name in _ARRAYS))

    __hash__ = None  # holds arrays

    @classmethod
    def from_pipeline(cls, pipeline, columns):
        """Read a fitted ``SimpleImputer -> StandardScaler -> LogisticRegression`` pipeline on classes 0 and 1.

        Raises
        ------
        ValueError
            If the pipeline has other steps, is not fitted on two classes 0 and 1, or ``columns`` do not fit it.
        """
        steps = [type(step).__name__ for step in pipeline.named_steps.values()]
        if steps != ["SimpleImputer", "StandardScaler", "LogisticRegression"]:
            raise ValueError(f"expected SimpleImputer, StandardScaler, LogisticRegression; got {', '.join(steps)}")
        imputer, scaler, classifier = pipeline.named_steps.values()
        if list(classifier.classes_) != [0, 1]:
            raise ValueError(f"expected a classifier of classes [0, 1], got {list(classifier.classes_)}")
        if len(columns) != classifier.coef_.shape[1]:
            raise ValueError(f"{len(columns)} column names for {classifier.coef_.shape[1]} features")
        return cls(columns=tuple(str(c) for c in columns), fill=np.asarray(imputer.statistics_, dtype=float),
                   mean=np.asarray(scaler.mean_, dtype=float), scale=np.asarray(scaler.scale_, dtype=float),
                   coef=np.asarray(classifier.coef_[0], dtype=float), intercept=float(classifier.intercept_[0]))

    def save(self, path):
        """Write the arrays to ``path`` (``.npz``), atomically."""
        arrays = {"columns": np.array(self.columns, dtype=str), "intercept": np.array(self.intercept),
                  **{name: getattr(self, name) for name in _ARRAYS}}
        atomic_write(path, lambda handle: np.savez(handle, **arrays))
        return path

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`.

        Raises
        ------
        ValueError
            If the file cannot be read or lacks an array; the message names the file.
        """
        try:
            with np.load(path, allow_pickle=False) as stored:
                return cls(columns=tuple(stored["columns"].tolist()), intercept=float(stored["intercept"]),
                           **{name: stored[name] for name in _ARRAYS})
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"{path}: not a readable linear model ({type(err).__name__}: {err})") from None

    def standardized(self, features):
        """The standardised features of some rows.

        Parameters
        ----------
        features : pandas.DataFrame
            One row per song, with (at least) :attr:`columns`; a missing column or value is filled.

        Returns
        -------
        np.ndarray [shape=(n_rows, n_features)]
        """
        values = features.reindex(columns=list(self.columns)).to_numpy(dtype=float)
        values = np.where(np.isnan(values), self.fill, values)
        return (values - self.mean) / self.scale

    def contributions(self, features):
        """Each feature's push towards the positive class (logit units), ``z * coef``: as :meth:`standardized`."""
        return self.standardized(features) * self.coef

    def prob_positive(self, features):
        """Probability of the positive class for each row: np.ndarray [shape=(n_rows,)]."""
        logit = self.contributions(features).sum(axis=1) + self.intercept
        return 1.0 / (1.0 + np.exp(-logit))
