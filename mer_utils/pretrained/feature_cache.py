"""A cache of small per-item feature arrays (``.npz``), keyed by the parameters that made them.

The pretrained-feature stages (:mod:`~mer_utils.pretrained.musicnn_features`,
:mod:`~mer_utils.pretrained.lyrics_features`) compute a few hundred numbers
per track; each is stored once as ``<root>/<parameter key>/<item>.npz``,
where the parameter key hashes every parameter that changes the numbers
and the versions of the libraries and weights that compute them (a
``params.json`` in the folder says which). A rejection that depends only on
the input (a clip too short, silent or unreadable) is stored as
``<item>.rejected.json``, so a rerun neither recomputes nor forgets it.
Everything is written through :func:`mer_utils.fileio.atomic_write`: a kill
never leaves half a file, so any file present is complete.
"""

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from ..accounting import Rejected
from ..fileio import atomic_write, remove_abandoned_temporaries, write_text


def parameter_key(provenance):
    """Folder name of a parameter set: the first 16 hex digits of a hash of ``provenance`` (a JSON-able dict)."""
    return hashlib.sha1(json.dumps(provenance, sort_keys=True).encode("utf-8")).hexdigest()[:16]


class FeatureCache:
    """One parameter set's folder of cached feature arrays and rejections.

    Parameters
    ----------
    root : str or Path
        The kind's cache folder, e.g. ``paths.cache_dir("musicnn")``.
    provenance : dict
        Every parameter and version the features depend on; hashed into the folder name.
    """

    def __init__(self, root, provenance):
        self.provenance = dict(provenance)
        self.folder = Path(root) / parameter_key(self.provenance)

    def prepare(self):
        """Create the folder and its ``params.json``, and remove temporaries left by killed runs; return self."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / "params.json"
        if not target.exists():
            write_text(target, json.dumps(self.provenance, indent=2, sort_keys=True))
        remove_abandoned_temporaries(self.folder)  # written by this process only: a dead pid is a kill
        return self

    def feature_path(self, stem):
        """Where item ``stem``'s arrays are (or would be) stored."""
        return self.folder / f"{stem}.npz"

    def get(self, stem, *, track_id=None):
        """Item ``stem``'s arrays (dict of name -> np.ndarray), its cached :class:`Rejected`, or ``None``."""
        feature = self.feature_path(stem)
        if feature.is_file():
            try:
                with np.load(feature) as stored:
                    return {name: stored[name] for name in stored.files}
            except (OSError, ValueError, EOFError):
                pass  # unreadable (disk trouble): recompute
        try:
            marker = json.loads((self.folder / f"{stem}.rejected.json").read_text(encoding="utf-8"))
            return Rejected(**marker, track_id=track_id)
        except (OSError, ValueError, TypeError):  # no marker, or an unreadable one: compute
            return None

    def put(self, stem, **arrays):
        """Store item ``stem``'s named arrays; return the file's path."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        target = self.feature_path(stem)
        atomic_write(target, lambda handle: handle.write(buffer.getvalue()))
        return target

    def reject(self, stem, rejected):
        """Remember that item ``stem`` is rejected (reason and detail of ``rejected``)."""
        marker = {"reason": rejected.reason, "detail": rejected.detail}
        write_text(self.folder / f"{stem}.rejected.json", json.dumps(marker))
