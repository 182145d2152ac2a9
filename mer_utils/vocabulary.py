"""Word ids for the lyrics models, and statistics of word lists.

The paper feeds the lyrics branch "(27,496, 400) word vectors": a vocabulary
of 27,496 words and sequences of 400 word ids (section 2). :class:`Vocabulary`
builds that mapping from the training tracks of one split only, so that the
validation lyrics never shape it, and encodes any word lists as a padded
``int32`` matrix.

Conventions: id 0 is padding, id 1 stands for any word outside the
vocabulary (OOV), the words follow from id 2, most frequent first (ties in
alphabetical order, so a fit is deterministic). ``max_size`` counts the two
reserved ids, as the paper's 27,496 is the size of the embedding table.
Sequences keep their beginning when truncated (the first verse and chorus)
and are padded at the end with 0, which a masking embedding ignores.
"""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .fileio import write_json

PAD_ID = 0
OOV_ID = 1
_FORMAT = "mer_utils.Vocabulary/1"


def validate_token_lists(token_lists, *, name="token_lists"):
    """Raise ``ValueError`` unless ``token_lists`` is a sequence of lists of strings; return it as a list."""
    token_lists = list(token_lists)
    for i, tokens in enumerate(token_lists):
        if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"{name}[{i}] must be a list of words (str), got {type(tokens).__name__} "
                             f"{str(tokens)[:60]!r}")
    return token_lists


class Vocabulary:
    """Word <-> id mapping with padding (0) and out-of-vocabulary (1) ids.

    Parameters
    ----------
    words : sequence of str
        The words, in id order (the first gets id 2).

    Examples
    --------
    >>> vocab = Vocabulary.fit([["love", "night", "love"], ["tears"]], max_size=4)
    >>> len(vocab), vocab.words
    (4, ['love', 'night'])
    >>> vocab.encode([["love", "tears"]], max_len=3)
    array([[2, 1, 0]], dtype=int32)
    """

    def __init__(self, words):
        self.words = list(words)
        self._ids = {word: i for i, word in enumerate(self.words, start=2)}
        if len(self._ids) != len(self.words):
            raise ValueError("vocabulary words must be unique")

    @classmethod
    def fit(cls, token_lists, *, max_size):
        """The ``max_size - 2`` most frequent words of ``token_lists`` (a split's training tracks only).

        Parameters
        ----------
        token_lists : sequence of list of str
        max_size : int
            Size including the padding and OOV ids (paper: 27,496); at least 2.
        """
        if isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)) or max_size < 2:
            raise ValueError(f"max_size must be an integer >= 2 (padding and OOV ids included), got {max_size!r}")
        counts = Counter(word for tokens in validate_token_lists(token_lists) for word in tokens)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls(word for word, _ in ranked[: max_size - 2])

    def __len__(self):
        return len(self.words) + 2

    def __contains__(self, word):
        return word in self._ids

    def __repr__(self):
        return f"Vocabulary({len(self)} ids: padding, OOV and {len(self.words)} words)"

    def ids(self, tokens):
        """Ids of one word list, OOV for unknown words (no padding)."""
        return [self._ids.get(word, OOV_ID) for word in tokens]

    def encode(self, token_lists, *, max_len):
        """Id matrix of word lists: truncated to the first ``max_len`` words, padded at the end with 0.

        Parameters
        ----------
        token_lists : sequence of list of str, length n
        max_len : int
            Sequence length (paper: 400).

        Returns
        -------
        np.ndarray, int32, shape (n, max_len)
        """
        if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
        token_lists = validate_token_lists(token_lists)
        encoded = np.full((len(token_lists), max_len), PAD_ID, dtype=np.int32)
        for row, tokens in enumerate(token_lists):
            ids = self.ids(tokens[:max_len])
            encoded[row, : len(ids)] = ids
        return encoded

    def decode(self, ids):
        """Words of one id sequence; padding dropped, OOV shown as ``"<oov>"``."""
        return [self.words[i - 2] if i >= 2 else "<oov>" for i in ids if i != PAD_ID]

    def coverage(self, token_lists):
        """Share of the words (occurrences, not distinct words) of ``token_lists`` that are in the vocabulary.

        Raises
        ------
        ValueError
            If the lists hold no word at all.
        """
        words = [w for tokens in validate_token_lists(token_lists) for w in tokens]
        if not words:
            raise ValueError("coverage of an empty corpus is undefined: the token lists hold no word")
        return sum(w in self._ids for w in words) / len(words)

    def save(self, path):
        """Write the vocabulary as JSON (UTF-8, words in id order); return the path."""
        path = Path(path)
        data = {"format": _FORMAT, "padding_id": PAD_ID, "oov_id": OOV_ID, "words": self.words}
        return write_json(path, data)

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by :meth:`save`; ``ValueError`` naming the file if it is not one."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: cannot read a vocabulary ({err})") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a vocabulary file (expected format {_FORMAT!r})")
        return cls(data["words"])


# --- statistics of word lists ------------------------------------------------------

def length_summary(token_lists, *, max_len):
    """Word counts against the sequence length: how much truncation and padding ``max_len`` implies.

    Returns
    -------
    pandas.Series
        ``tracks, median, p90, max, truncated_share`` (more than ``max_len`` words)
        and ``words_lost_share`` (share of all words cut off by truncation).
    """
    lengths = np.array([len(t) for t in validate_token_lists(token_lists)])
    if not len(lengths):
        raise ValueError("no word lists to summarise")
    return pd.Series({
        "tracks": len(lengths),
        "median": float(np.median(lengths)),
        "p90": float(np.percentile(lengths, 90)),
        "max": int(lengths.max()),
        "truncated_share": float(np.mean(lengths > max_len)),
        "words_lost_share": float(np.clip(lengths - max_len, 0, None).sum() / max(lengths.sum(), 1)),
    })


def coverage_curve(train_lists, val_lists, *, sizes):
    """Coverage of training and validation words by vocabularies of several sizes, fit on training only.

    Parameters
    ----------
    train_lists, val_lists : sequence of list of str
    sizes : sequence of int
        Vocabulary sizes (padding and OOV ids included).

    Returns
    -------
    pandas.DataFrame
        Columns ``vocab_size, words, train_coverage, val_coverage``; ``words``
        is the number of words actually in the vocabulary (at most ``vocab_size - 2``).
    """
    full = Vocabulary.fit(train_lists, max_size=max(sizes))
    rows = []
    for size in sorted(sizes):
        vocab = Vocabulary(full.words[: size - 2])
        rows.append({"vocab_size": size, "words": len(vocab.words),
                     "train_coverage": vocab.coverage(train_lists), "val_coverage": vocab.coverage(val_lists)})
    return pd.DataFrame(rows)


def class_association(token_lists, labels, *, top=15, min_tracks=3, smoothing=0.5):
    """Words most associated with each class: smoothed log odds ratio of appearing in a track.

    For a word in ``a`` of the ``n_pos`` positive tracks and ``b`` of the
    ``n_neg`` negative ones, the score is
    ``logit((a + s) / (n_pos + 2s)) - logit((b + s) / (n_neg + 2s))`` with
    ``s = smoothing`` (0.5 is the Haldane-Anscombe correction): positive
    favours the positive class. Counting tracks, not occurrences, keeps one
    chorus repeated twenty times from dominating.

    Parameters
    ----------
    token_lists : sequence of list of str
        Training tracks only (the validation part must not be looked at).
    labels : sequence of int
        1 = positive, 0 = negative, aligned with ``token_lists``.
    top : int
        Words per class.
    min_tracks : int
        Ignore words present in fewer tracks (noise).

    Returns
    -------
    pandas.DataFrame
        Columns ``label, word, log_odds, tracks_positive, tracks_negative``;
        ``top`` rows per label, strongest first.
    """
    token_lists = validate_token_lists(token_lists)
    labels = np.asarray(labels)
    if len(labels) != len(token_lists):
        raise ValueError(f"{len(token_lists)} word lists but {len(labels)} labels")
    if not set(np.unique(labels)) <= {0, 1} or len(np.unique(labels)) < 2:
        raise ValueError("labels must be 0 (negative) and 1 (positive), with both present")
    in_tracks = {1: Counter(), 0: Counter()}
    for tokens, label in zip(token_lists, labels):
        in_tracks[int(label)].update(set(tokens))
    n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
    table = pd.DataFrame({"tracks_positive": pd.Series(in_tracks[1]), "tracks_negative": pd.Series(in_tracks[0])})
    table = table.fillna(0).astype(int).rename_axis("word").reset_index()
    table = table[table.tracks_positive + table.tracks_negative >= min_tracks]
    p_pos = (table.tracks_positive + smoothing) / (n_pos + 2 * smoothing)
    p_neg = (table.tracks_negative + smoothing) / (n_neg + 2 * smoothing)
    table = table.assign(log_odds=np.log(p_pos / (1 - p_pos)) - np.log(p_neg / (1 - p_neg)))
    positive = table.sort_values(["log_odds", "word"], ascending=[False, True]).head(top).assign(label="positive")
    negative = table.sort_values(["log_odds", "word"], ascending=[True, True]).head(top).assign(label="negative")
    columns = ["label", "word", "log_odds", "tracks_positive", "tracks_negative"]
    return pd.concat([positive, negative], ignore_index=True)[columns]


def class_association_by_class(token_lists, labels, classes, **options):
    """Words most associated with each class, for any number of classes.

    Two classes: :func:`class_association` with the class names as labels
    (``classes[1]`` plays positive). More: for each class, the top rows of
    :func:`class_association` of that class against all the others (one vs
    rest), with columns ``tracks_in_class`` and ``tracks_in_others``.

    Parameters
    ----------
    token_lists : sequence of list of str
        Training tracks only.
    labels : sequence of int
        Class indices into ``classes``, aligned with ``token_lists``.
    classes : sequence of str
    **options
        ``top``, ``min_tracks``, ``smoothing`` of :func:`class_association`.

    Returns
    -------
    pandas.DataFrame
        Columns ``label, word, log_odds`` and the two track counts; ``top`` rows per class.
    """
    labels = np.asarray(labels)
    if len(classes) == 2:
        table = class_association(token_lists, labels, **options)
        return table.assign(label=table["label"].map({"positive": classes[1], "negative": classes[0]}))
    per_class = []
    for index, name in enumerate(classes):
        table = class_association(token_lists, (labels == index).astype(int), **options)
        per_class.append(table[table["label"] == "positive"].assign(label=name).rename(
            columns={"tracks_positive": "tracks_in_class", "tracks_negative": "tracks_in_others"}))
    return pd.concat(per_class, ignore_index=True)
