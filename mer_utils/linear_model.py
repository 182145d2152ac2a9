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
    two classes:  p(positive) = 1 / (1 + exp(-(z . coef + intercept)))
    K classes:    p(class k) = softmax over k of (z . coef[k] + intercept[k])

and ``z * coef`` (``z * coef[k]``) says how much each feature pushed the
song towards the positive class (class ``k``): :meth:`LinearModel.contributions`.
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
    """Imputation, standardisation and a logistic regression (binary or multinomial), as arrays.

    Attributes
    ----------
    columns : tuple of str
        The features, in the order of the arrays (``n_features``).
    fill : np.ndarray [shape=(n_features,)]
        Value of a missing feature (the training part's mean).
    mean, scale : np.ndarray [shape=(n_features,)]
        Standardisation: ``(x - mean) / scale``.
    coef : np.ndarray [shape=(n_features,) or (n_classes, n_features)]
        Weights of the standardised features: for the positive class (two
        classes), or for each class (more than two: a multinomial model).
    intercept : float or np.ndarray [shape=(n_classes,)]
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
        return (self.columns == other.columns and np.array_equal(self.intercept, other.intercept)
                and all(np.array_equal(getattr(self, name), getattr(other, name)) for name in _ARRAYS))

    __hash__ = None  # holds arrays

    @property
    def n_classes(self):
        """2 for a binary model (``coef`` of one dimension), else the rows of ``coef``."""
        return 2 if self.coef.ndim == 1 else len(self.coef)

    @classmethod
    def from_pipeline(cls, pipeline, columns):
        """Read a fitted ``SimpleImputer -> StandardScaler -> LogisticRegression`` pipeline on classes 0, 1, ...

        Raises
        ------
        ValueError
            If the pipeline has other steps, is not fitted on the classes 0 to K - 1 (K >= 2), or ``columns``
            do not fit it.
        """
        steps = [type(step).__name__ for step in pipeline.named_steps.values()]
        if steps != ["SimpleImputer", "StandardScaler", "LogisticRegression"]:
            raise ValueError(f"expected SimpleImputer, StandardScaler, LogisticRegression; got {', '.join(steps)}")
        imputer, scaler, classifier = pipeline.named_steps.values()
        classes = np.asarray(classifier.classes_).tolist()
        if len(classes) < 2 or classes != list(range(len(classes))):
            raise ValueError(f"expected a classifier of classes 0 to K - 1 (K >= 2), got {classes}")
        if len(columns) != classifier.coef_.shape[1]:
            raise ValueError(f"{len(columns)} column names for {classifier.coef_.shape[1]} features")
        binary = len(classes) == 2  # scikit-learn keeps one row of weights, for class 1
        return cls(columns=tuple(str(c) for c in columns), fill=np.asarray(imputer.statistics_, dtype=float),
                   mean=np.asarray(scaler.mean_, dtype=float), scale=np.asarray(scaler.scale_, dtype=float),
                   coef=np.asarray(classifier.coef_[0] if binary else classifier.coef_, dtype=float),
                   intercept=float(classifier.intercept_[0]) if binary
                   else np.asarray(classifier.intercept_, dtype=float))

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
                intercept = stored["intercept"]
                return cls(columns=tuple(stored["columns"].tolist()),
                           intercept=float(intercept) if intercept.ndim == 0 else intercept,
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

    def contributions(self, features, *, target=1):
        """Each feature's push towards class ``target``: np.ndarray [shape=(n_rows, n_features)].

        Two classes: ``z * coef``, in log-odds of the positive class (negated
        for ``target=0``); they sum, with the intercept, to the log-odds.
        More: ``z * coef[target]``, in class ``target``'s score, whose
        differences to the other classes' scores set the softmax probabilities.
        """
        if not 0 <= target < self.n_classes:
            raise ValueError(f"target {target} is not a class of this {self.n_classes}-class model")
        if self.n_classes == 2:
            return self.standardized(features) * self.coef * (1 if target == 1 else -1)
        return self.standardized(features) * self.coef[target]

    def probabilities(self, features):
        """Each class's probability for each row: np.ndarray [shape=(n_rows, n_classes)]."""
        z = self.standardized(features)
        if self.n_classes == 2:
            positive = 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))
            return np.column_stack([1.0 - positive, positive])
        scores = z @ self.coef.T + self.intercept
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def prob_positive(self, features):
        """Probability of the positive class for each row (two classes): np.ndarray [shape=(n_rows,)]."""
        if self.n_classes != 2:
            raise ValueError(f"a {self.n_classes}-class model has no positive class: use probabilities()")
        return self.probabilities(features)[:, 1]
