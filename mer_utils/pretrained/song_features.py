"""The pretrained features of one new song, as notebook 08 computed them for the run's tracks.

:mod:`mer_utils.predict` scores new songs with notebook 08's fitted rows
(:mod:`mer_utils.linear_model`); they read the same features through the
same stage functions (:func:`mer_utils.pretrained.musicnn_features.extract_all`,
:func:`mer_utils.pretrained.lyrics_features.extract_all`) and caches, with
the musicnn network and the lyrics encoder loaded once for many songs.
"""

from dataclasses import dataclass, field

from .. import config
from . import lyrics_features, musicnn, musicnn_features


#: What a missing package of the pretrained features raises (each message names the install command).
UNAVAILABLE = (musicnn.MusicnnUnavailable, lyrics_features.LyricsFeaturesUnavailable)


@dataclass
class SongFeatures:
    """Pretrained features of single songs.

    Parameters
    ----------
    musicnn_model : str
        The run's checkpoint (notebook 08's ``musicnn_model``).
    max_seconds : float
        Audio read from the start of the song: ``min(clip_seconds, musicnn_seconds)`` of the run.
    """

    musicnn_model: str = musicnn.DEFAULT_MODEL
    max_seconds: float = config.CLIP_SECONDS
    _network: object = field(default=None, init=False, repr=False)  # loaded at the first uncached song
    _encoder: object = field(default=None, init=False, repr=False)  # loaded at the first uncached lyrics

    def musicnn(self, name, audio_path):
        """The song's musicnn features (named tags, pooled penultimate layer).

        Returns
        -------
        pandas.DataFrame [shape=(1, n_features)]
            Indexed by ``name``; the columns of notebook 08's table.

        Raises
        ------
        mer_utils.accounting.Rejected
            Too short for one 3 s patch, silent or unreadable, with the stage's reason.
        mer_utils.pretrained.musicnn.MusicnnUnavailable
            The weights cannot be loaded (the message names the install command).
        """
        report = musicnn_features.extract_all([{"track_id": name, "audio_path": str(audio_path)}],
                                              model=self.musicnn_model, max_seconds=self.max_seconds, n_workers=1,
                                              network=self._loaded_network, progress=False)
        if report.rejections:
            raise report.rejections[0]
        return report.table()

    def _loaded_network(self):
        # called by the feature stage only for a song not in its cache: a cached song loads nothing
        if self._network is None:
            self._network = musicnn.Musicnn(self.musicnn_model)
        return self._network

    def _loaded_encoder(self):
        # as _loaded_network: lyrics already in the feature cache load nothing
        if self._encoder is None:
            self._encoder = lyrics_features.LyricsEncoder.load()
        return self._encoder

    def lyrics(self, name, lyrics_path=None, *, lyrics_text=""):
        """The song's lyrics features (WordLlama, VADER, TextBlob), from its lyrics file or inline text.

        Parameters
        ----------
        name : str
        lyrics_path : str or Path, optional
        lyrics_text : str
            Inline lyrics, read instead of ``lyrics_path`` (as notebook 03 reads a ledger's ``lyrics_text``).

        Returns
        -------
        pandas.DataFrame [shape=(1, 262)]

        Raises
        ------
        mer_utils.accounting.Rejected
            Lyrics that cannot be read, with notebook 03's reason.
        """
        row = {"track_id": name, "lyrics_path": str(lyrics_path or ""), "lyrics_text": lyrics_text}
        report = lyrics_features.extract_all([row], encoder=self._loaded_encoder)
        if report.rejections:
            raise report.rejections[0]
        return report.features
