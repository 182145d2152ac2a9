"""The embedded demo corpus: a generated, labelled teaching corpus that runs anywhere.

The paper's NAVER Music corpus was never released, so the study ships a
generator. It writes a corpus in the user-CSV format read by
:func:`mer_utils.corpus.from_csv`::

    <out_dir>/metadata.csv   track_id, audio_path, lyrics_path, language, tags, artist, title
                             (UTF-8; paths relative to <out_dir>; tags joined with "|";
                             language "ko" or "en"; an empty cell means unknown or missing)
    <out_dir>/audio/<track_id>.flac|wav|ogg
    <out_dir>/lyrics/<track_id>.txt
    <out_dir>/truth.csv      track_id, true_label, planted_defect -- row i describes row i
                             of metadata.csv; planted_defect is the reason code (from
                             mer_utils.accounting.REASONS) the pipeline should give, or empty
    <out_dir>/README.md      what the corpus is, and is not
    <out_dir>/corpus.json    generator version and parameters, written last

Tracks carry emotion in their audio (:mod:`mer_utils.demo.audio`: mode,
tempo, brightness, loudness, articulation) and their lyrics
(:mod:`mer_utils.demo.lyrics`: emotion words), each with noise so that no
model can be perfect, and in editor-like tags, from which the pipeline
derives the label as in the paper. About 13% of the tracks carry planted
defects (:data:`DEFECTS`: bad tags, short or broken audio, missing, short or
broken lyrics, duplicate ids) that notebook 01 must reject with the right
reason, and two that only later stages can see (:data:`LATE_DEFECTS`:
digital silence for 02, lyrics of sung syllables without a content word for
03). Lyrics of markers and punctuation only ("[Chorus] ... !!!") count as
too few words: markers are not words (:func:`mer_utils.textio.count_words`).
A few other tracks are valid oddities the pipeline must keep (stereo, other
sample rates, WAV and Ogg, CP949 and UTF-16 lyrics, mixed line endings).

Accuracies measured on this corpus say nothing about real music.
"""

import csv
import io
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config, paths
from ..fileio import atomic_dir
from ..parallel import available_cores
from ..config import LABELS
from .audio import draw_cues, synthesize, write_audio
from .lyrics import (
    pick, write_lyrics, write_marker_only_lyrics, write_short_lyrics, write_title, write_vocable_lyrics,
)

#: The generator's name in corpus.json and README.md: its module's name before it moved
#: to mer_utils.demo, kept so that corpora generated before the move stay valid, byte for byte.
GENERATOR_NAME = "mer_utils.demo_corpus"
#: Bump when the output changes for the same parameters: cached corpora are regenerated.
GENERATOR_VERSION = 2  # 1 changed during development without a bump; 2 retires those caches
METADATA_COLUMNS = ("track_id", "audio_path", "lyrics_path", "language", "tags", "artist", "title")
TRUTH_COLUMNS = ("track_id", "true_label", "planted_defect")

#: Share of positive tracks, so that the balancing step has work to do.
POSITIVE_SHARE = 0.55
#: Share of tracks whose audio cues are weak or point to the other class.
AUDIO_CONFUSED_SHARE = 0.25
#: Lyrics: probability that an emotion word has the song's polarity, for most
#: songs and for the "confused" share of songs.
LYRICS_FAITHFUL = 0.9
LYRICS_CONFUSED_SHARE = 0.08
LYRICS_CONFUSED_FAITHFUL = 0.35
#: Durations (seconds) of valid tracks and of the too-short defect (the paper rejects < 60 s).
DURATION_RANGE_S = (61.0, 75.0)
SHORT_DURATION_RANGE_S = (30.0, 55.0)
#: Lyrics length of valid tracks, in words.
LYRICS_WORDS_RANGE = (40, 140)

#: Planted defects, as (reason code, variant), in the order they are handed
#: out: the first pass gives each at least one track.
DEFECTS = (
    ("conflicting_tags", ""), ("no_polarity_tag", ""), ("no_tags", ""), ("too_short", ""),
    ("too_few_words", ""), ("missing_lyrics", "no_file"), ("missing_lyrics", "empty_cell"),
    ("missing_audio", ""), ("unreadable_audio", "zero_bytes"), ("unreadable_audio", "text_as_wav"),
    ("undecodable_lyrics", ""), ("duplicate_id", ""), ("silent_audio", ""), ("no_content_words", ""),
    ("too_few_words", "markers_only"),
)
#: Defects only notebooks 02 (decoded audio) and 03 (POS tagging) can see.
LATE_DEFECTS = ("silent_audio", "no_content_words")
#: Share of tracks with a planted defect (at least one of each when n_tracks >= MIN_FULL_TRACKS).
DEFECT_SHARE = 0.13
MIN_FULL_TRACKS = 40
#: Valid oddities the pipeline must keep: (extension, sample rate, channels).
ODD_FORMATS = (
    ("flac", 44100, 2), ("wav", 8000, 1), ("ogg", 22050, 1),
    ("flac", 48000, 1), ("wav", 22050, 1), ("ogg", 16000, 2),
)
ODD_FORMAT_SHARE = 0.05
#: Neutral editor tags (in neither polarity dictionary).
NEUTRAL_TAGS = (
    "dance", "ballad", "driving", "rainy day", "k-pop", "acoustic", "indie", "r&b", "night",
    "workout", "cafe", "summer", "hip-hop", "rock", "piano", "drama ost",
)
#: Smallest corpus the generator makes (two splits need a few tracks of each class).
MIN_TRACKS = 10
#: Most threads that render tracks (beyond, writing files is the bottleneck).
MAX_THREADS = 8

_ARTIST_PARTS = (
    ("Luna", "Neon", "Blue", "Silver", "Paper", "Moon", "Haneul", "Byeol", "Sora", "Velvet", "Echo"),
    ("Park", "Club", "Garden", "Road", "Project", "Girls", "Boys", "Band", "Line", "Avenue"),
)
_HANGUL_ARTISTS = ("별빛소년", "달빛정원", "새벽버스", "푸른바다", "한여름밤", "골목길악단", "소나기")


@dataclass
class TrackPlan:
    """Everything decided about one row of the corpus before any file is written."""

    index: int
    track_id: str
    label: str
    language: str
    defect: str = ""
    variant: str = ""
    audio_ext: str = "flac"
    sample_rate: int = 16000
    n_channels: int = 1
    duration_s: float = 0.0
    audio_confused: bool = False
    lyrics_faithful: float = LYRICS_FAITHFUL
    encoding: str = "utf-8"
    tags: list = field(default_factory=list)
    artist: str = ""
    language_cell: str = ""
    duplicate_of: int = -1

    @property
    def audio_path(self):
        return f"audio/{self.track_id}.{self.audio_ext}"

    @property
    def lyrics_path(self):
        return f"lyrics/{self.track_id}.txt"


def demo_corpus_dir(*, n_tracks, seed):
    """Where the demo corpus of these parameters lives: ``paths.raw_dir("demo-<seed>-<n_tracks>")``."""
    return paths.raw_dir(f"demo-{seed}-{n_tracks}")


def validate_parameters(*, n_tracks, seed, sample_rate):
    """Raise ``ValueError`` unless the generator's parameters make sense."""
    if not isinstance(n_tracks, (int, np.integer)) or n_tracks < MIN_TRACKS:
        raise ValueError(f"demo corpus: n_tracks must be an integer >= {MIN_TRACKS}, got {n_tracks!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"demo corpus: seed must be a non-negative integer, got {seed!r}")
    if not isinstance(sample_rate, (int, np.integer)) or not 8000 <= sample_rate <= 48000:
        raise ValueError(f"demo corpus: sample_rate must be an integer in [8000, 48000] Hz, got {sample_rate!r}")


def generate_demo_corpus(out_dir, *, n_tracks=config.DEMO_N_TRACKS, seed=config.SEED,
                         sample_rate=config.DEMO_SAMPLE_RATE):
    """Generate the demo corpus into ``out_dir`` (or reuse it); return the path of ``metadata.csv``.

    Deterministic: the same parameters give byte-identical files. When
    ``out_dir/corpus.json`` records the same generator version and
    parameters, nothing is written. Otherwise the corpus is built in a
    temporary sibling folder and renamed into place, so an interrupted run
    never leaves a complete-looking corpus behind.

    Parameters
    ----------
    out_dir : str or Path
        Usually :func:`demo_corpus_dir`.
    n_tracks : int
        Rows of ``metadata.csv`` (>= 10; every defect kind appears from 40).
    seed : int
        Everything random derives from it.
    sample_rate : int
        Sample rate of the FLAC files (a few valid oddities use other rates).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For bad parameters, or if ``out_dir`` holds something that is not a demo corpus.
    """
    validate_parameters(n_tracks=n_tracks, seed=seed, sample_rate=sample_rate)
    out_dir = Path(out_dir)
    record = {"generator": GENERATOR_NAME, "version": GENERATOR_VERSION,
              "parameters": {"n_tracks": int(n_tracks), "seed": int(seed), "sample_rate": int(sample_rate)}}
    if _is_complete(out_dir, record):
        return out_dir / "metadata.csv"
    _refuse_foreign_folder(out_dir)
    with atomic_dir(out_dir) as partial:
        plans = plan_tracks(n_tracks=n_tracks, seed=seed, sample_rate=sample_rate)
        _write_corpus(partial, plans, seed=seed, record=record)
    return out_dir / "metadata.csv"


# --- the plan -------------------------------------------------------------------

def plan_tracks(*, n_tracks, seed, sample_rate):
    """Decide every row of the corpus (labels, defects, formats, tags) from the seed.

    Tracks that must reach notebooks 02 and 03 (the defects only those stages
    can see, the lyrics in odd encodings, half the odd audio formats) are
    negative: the minority class, which the balancing step of notebook 01
    never undersamples.

    Returns
    -------
    list of TrackPlan
        One per row of ``metadata.csv``, in order.
    """
    rng = np.random.default_rng([seed, 0])
    n_positive = int(round(POSITIVE_SHARE * n_tracks))
    labels = rng.permutation(["positive"] * n_positive + ["negative"] * (n_tracks - n_positive))
    plans = [
        TrackPlan(
            index=i, track_id=f"demo-{i + 1:04d}", label=str(labels[i]),
            language="ko" if rng.random() < 0.5 else "en", sample_rate=sample_rate,
            duration_s=float(rng.uniform(*DURATION_RANGE_S)),
            audio_confused=bool(rng.random() < AUDIO_CONFUSED_SHARE),
            lyrics_faithful=LYRICS_CONFUSED_FAITHFUL if rng.random() < LYRICS_CONFUSED_SHARE else LYRICS_FAITHFUL,
        )
        for i in range(n_tracks)
    ]
    pools = {label: [int(i) for i in rng.permutation(np.flatnonzero(labels == label))] for label in LABELS}
    _assign_defects(plans, pools, rng)
    _assign_oddities(plans, pools)
    artists = _artist_pool(max(5, n_tracks // 6), rng)
    for plan in plans:
        plan.tags = plan.tags if plan.defect else _valid_tags(plan.label, rng)
        plan.artist = "" if rng.random() < 0.05 else pick(rng, artists)
        plan.language_cell = "" if (rng.random() < 0.03 and not plan.defect) else plan.language
    return plans


def _assign_defects(plans, pools, rng):
    """Plant :data:`DEFECTS`, cycling, in ``DEFECT_SHARE`` of the rows; take them out of ``pools``.

    Defects notebook 01 rejects come from both classes in turns, so that the
    positives stay the majority after it; the late ones are negative.
    """
    n_defects = max(len(DEFECTS) if len(plans) >= MIN_FULL_TRACKS else 0, int(round(DEFECT_SHARE * len(plans))))
    kinds = [DEFECTS[k % len(DEFECTS)] for k in range(n_defects)]
    late = [kind for kind in kinds if kind[0] in LATE_DEFECTS]
    early = [kind for kind in kinds if kind[0] not in LATE_DEFECTS]
    rows = [pools["negative"].pop() for _ in late]
    rows += [pools[LABELS[k % 2]].pop() if pools[LABELS[k % 2]] else pools[LABELS[1 - k % 2]].pop()
             for k in range(len(early))]
    kinds = late + early
    if ("duplicate_id", "") in kinds:  # the duplicate must come after the valid row it copies
        k = kinds.index(("duplicate_id", ""))
        latest = rows.index(max(rows[len(late):]))
        rows[k], rows[latest] = rows[latest], rows[k]
    for row, (defect, variant) in zip(rows, kinds):
        plan = plans[row]
        plan.defect, plan.variant = defect, variant
        plan.tags = _defect_tags(defect, plan.label, rng)
        if defect == "too_short":
            plan.duration_s = float(rng.uniform(*SHORT_DURATION_RANGE_S))
        elif defect == "unreadable_audio" and variant == "text_as_wav":
            plan.audio_ext = "wav"
        elif defect == "no_content_words":
            plan.language = "en"  # the vocables are English
        elif defect == "duplicate_id":
            earlier = sorted(r for pool in pools.values() for r in pool if r < row)
            if earlier:
                plan.duplicate_of = int(pick(rng, earlier))
                plan.label = plans[plan.duplicate_of].label
            else:  # nothing valid before it (tiny corpora only): leave the row valid
                plan.defect = ""


def _assign_oddities(plans, pools):
    """Valid tracks in unusual formats and encodings, which the pipeline must keep.

    Each odd format goes to a negative and a positive track in turn, so that
    no format betrays a label; odd encodings go to negatives (see :func:`plan_tracks`).
    """
    n_odd = max(2 * len(ODD_FORMATS) if len(plans) >= MIN_FULL_TRACKS else 0,
                int(round(ODD_FORMAT_SHARE * len(plans))))
    negatives, positives = iter(pools["negative"]), iter(pools["positive"])
    for k in range(n_odd):
        row = next(negatives if k % 2 == 0 else positives, None)
        if row is not None:
            plans[row].audio_ext, plans[row].sample_rate, plans[row].n_channels = ODD_FORMATS[k // 2 % len(ODD_FORMATS)]
    valid = pools["negative"] + pools["positive"]
    korean = [row for row in valid if plans[row].language == "ko"]
    english = [row for row in valid if plans[row].language == "en"]
    n_cp949 = max(2, len(plans) // 100)
    for row in korean[:n_cp949]:
        plans[row].encoding = "cp949"
    for row in korean[n_cp949:n_cp949 + 1]:
        plans[row].encoding = "utf-8-sig"
    for row in english[:1]:
        plans[row].encoding = "utf-16"  # Python's "utf-16" writes a byte-order mark


def _valid_tags(label, rng):
    """1-4 editor tags: one or two from the label's dictionary, up to two neutral ones."""
    dictionary = config.POSITIVE_TAGS if label == "positive" else config.NEGATIVE_TAGS
    tags = list(rng.choice(dictionary, size=1 + int(rng.random() < 0.3), replace=False))
    tags += list(rng.choice(NEUTRAL_TAGS, size=int(rng.integers(0, 3)), replace=False))
    return _vary_case(rng.permutation(tags), rng)


def _defect_tags(defect, label, rng):
    if defect == "no_tags":
        return []
    if defect == "no_polarity_tag":
        return _vary_case(rng.choice(NEUTRAL_TAGS, size=int(rng.integers(1, 4)), replace=False), rng)
    if defect == "conflicting_tags":
        tags = [pick(rng, config.POSITIVE_TAGS), pick(rng, config.NEGATIVE_TAGS)]
        tags += list(rng.choice(NEUTRAL_TAGS, size=int(rng.integers(0, 2)), replace=False))
        return _vary_case(rng.permutation(tags), rng)
    return _valid_tags(label, rng)


def _vary_case(tags, rng):
    """Editors type tags in any case: mostly lower, some Title, a few UPPER."""
    styles = (str.lower, str.title, str.upper)
    return [styles[int(rng.choice(3, p=[0.6, 0.25, 0.15]))](str(tag)) for tag in tags]


def _artist_pool(size, rng):
    names = [f"{a} {b}" for a in _ARTIST_PARTS[0] for b in _ARTIST_PARTS[1]] + list(_HANGUL_ARTISTS)
    pool = [str(name) for name in rng.choice(names, size=min(size, len(names)), replace=False)]
    return pool + [f"{pool[0]}, {pool[-1]}"]  # a collaboration: a comma inside a CSV cell


# --- writing ----------------------------------------------------------------------

def _write_corpus(folder, plans, *, seed, record):
    """Write every file of the corpus into ``folder``; ``corpus.json`` last."""
    (folder / "audio").mkdir()
    (folder / "lyrics").mkdir()
    originals = [plan for plan in plans if plan.defect != "duplicate_id"]
    # Tracks are independent (own seed, own files): render them on all cores.
    # NumPy and libsndfile release the GIL, so threads suffice.
    pool = ThreadPoolExecutor(max_workers=_n_threads())
    try:
        futures = {plan.index: pool.submit(_write_track, folder, plan, seed=seed) for plan in originals}
        written = {index: future.result() for index, future in futures.items()}
    finally:  # on an error or an interrupt, do not render the tracks still queued
        pool.shutdown(wait=True, cancel_futures=True)
    rows, truth = [], []
    for plan in plans:
        if plan.defect == "duplicate_id":
            rng = np.random.default_rng([seed, 1, plan.index])
            rows.append(_duplicate_row(rows[plan.duplicate_of], rng))
            truth.append({"track_id": rows[-1]["track_id"], "true_label": plans[plan.duplicate_of].label,
                          "planted_defect": plan.defect})
        else:
            rows.append(written[plan.index])
            truth.append({"track_id": plan.track_id, "true_label": plan.label, "planted_defect": plan.defect})
    _write_csv(folder / "truth.csv", TRUTH_COLUMNS, truth)
    (folder / "README.md").write_text(_readme(plans, record), encoding="utf-8")
    _write_csv(folder / "metadata.csv", METADATA_COLUMNS, rows)
    summary = {"n_rows": len(rows), "labels": dict(sorted(Counter(p.label for p in plans).items())),
               "planted_defects": dict(sorted(Counter(p.defect for p in plans if p.defect).items()))}
    (folder / "corpus.json").write_text(json.dumps({**record, **summary}, indent=2) + "\n", encoding="utf-8")


def _write_track(folder, plan, *, seed):
    """Write one track's audio and lyrics files; return its metadata row."""
    rng = np.random.default_rng([seed, 1, plan.index])
    title = _write_lyrics_file(folder, plan, rng)
    _write_audio_file(folder, plan, rng, seed=seed)
    return {
        "track_id": plan.track_id, "audio_path": plan.audio_path,
        "lyrics_path": "" if plan.variant == "empty_cell" else plan.lyrics_path,
        "language": plan.language_cell, "tags": "|".join(plan.tags), "artist": plan.artist, "title": title,
    }


def _n_threads():
    return min(available_cores(), MAX_THREADS)


def _duplicate_row(original, rng):
    """The same song listed a second time (as catalogues do), its tags retyped."""
    tags = original["tags"].split("|") if original["tags"] else []
    return {**original, "tags": "|".join(_vary_case(tags, rng))}


def _write_audio_file(folder, plan, rng, *, seed):
    path = folder / plan.audio_path
    if plan.defect == "missing_audio":
        return
    if plan.defect == "unreadable_audio":
        path.write_bytes(b"" if plan.variant == "zero_bytes" else
                         f"{plan.track_id}: lyrics draft, not audio\n".encode())
        return
    if plan.defect == "silent_audio":
        samples = np.zeros(int(round(plan.duration_s * plan.sample_rate)), dtype=np.float32)
    else:
        cues = draw_cues(plan.label, rng=rng, confused=plan.audio_confused)
        samples = synthesize(cues, duration_s=plan.duration_s, sample_rate=plan.sample_rate, rng=rng)
    if plan.n_channels == 2:  # a slightly different right channel, as in a real stereo mix
        samples = np.stack([samples, 0.8 * samples + 0.2 * np.roll(samples, plan.sample_rate // 100)], axis=1)
    write_audio(path, samples, sample_rate=plan.sample_rate, ogg_serial=seed * 100003 + plan.index)


def _write_lyrics_file(folder, plan, rng):
    """Write the lyrics file the plan calls for; return a title for the song."""
    if plan.variant == "markers_only":  # 30+ tokens, but no word: markers and punctuation
        lines = write_marker_only_lyrics(rng=rng, n_tokens=config.MIN_LYRICS_WORDS + 10)
    elif plan.defect == "too_few_words":
        lines = write_short_lyrics(plan.label, plan.language, rng=rng, n_words=int(rng.integers(8, 26)))
    elif plan.defect == "no_content_words":
        lines = write_vocable_lyrics(rng=rng, n_words=int(rng.integers(40, 80)))
    else:
        n_words = int(rng.integers(LYRICS_WORDS_RANGE[0], LYRICS_WORDS_RANGE[1] + 1))
        lines = write_lyrics(plan.label, plan.language, rng=rng, n_words=n_words, faithful=plan.lyrics_faithful)
    title = write_title(plan.label, plan.language, rng=rng)
    if plan.defect == "missing_lyrics":
        return title
    path = folder / plan.lyrics_path
    if plan.defect == "undecodable_lyrics":
        path.write_bytes(_undecodable_bytes(rng))
    else:
        path.write_bytes(_join_lines(lines, rng).encode(plan.encoding))
    return title


def _join_lines(lines, rng):
    """Lines with LF, CRLF, or (some files) both, as lyrics sites serve them."""
    style = rng.choice(3, p=[0.45, 0.45, 0.1])
    if style < 2:
        return ("\n", "\r\n")[style].join(lines) + ("\n", "\r\n")[style]
    return "".join(text + ("\r\n" if rng.random() < 0.5 else "\n") for text in lines)


def _undecodable_bytes(rng):
    """Binary bytes (NULs included) that are valid in none of UTF-8, UTF-16 (LE/BE) and CP949/EUC-KR.

    An image header, random bytes, then an unpaired UTF-16 surrogate in both
    byte orders (0xD8D8), 0xFF (never valid in UTF-8 nor CP949) and an odd length.
    """
    body = rng.integers(0, 256, size=int(rng.integers(200, 400)) * 2, dtype=np.uint8).tobytes()
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + body + b"\xd8\xd8\x00\x00\xff"


def _write_csv(path, columns, rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _readme(plans, record):
    params = record["parameters"]
    labels = Counter(p.label for p in plans)
    defects = Counter(p.defect for p in plans if p.defect)
    defect_lines = "\n".join(f"- `{code}`: {count}" for code, count in sorted(defects.items()))
    return f"""# Demo corpus (generated teaching corpus)

This corpus was generated by `{record['generator']}` (version {record['version']}) with
n_tracks={params['n_tracks']}, seed={params['seed']}, sample_rate={params['sample_rate']}.
It is NOT real music: the audio is synthesized chords and arpeggios, the lyrics
are sentences assembled from word lists. Emotion is planted on purpose (audio:
major/minor mode, tempo, brightness, loudness, articulation; lyrics: emotion
words), with noise so that models fall clearly short of 100%.

**Accuracies measured on this corpus say nothing about real music.** It exists
so that the study runs anywhere, quickly, and so that every stage's handling
of bad input can be seen.

- `metadata.csv`: the corpus in the user-CSV format (`track_id, audio_path,
  lyrics_path, language, tags, artist, title`; paths relative to this folder,
  tags joined with `|`, an empty cell = unknown or missing).
- `truth.csv`: for row i of `metadata.csv`, the label the tracks were generated
  with and the planted defect (the reason code the pipeline should reject the
  track with), if any. The pipeline does not read it.
- Labels generated: {labels['positive']} positive, {labels['negative']} negative.

Planted defects ({sum(defects.values())} rows):

{defect_lines}

Valid oddities the pipeline must keep: stereo files, sample rates other than
{params['sample_rate']} Hz, WAV and Ogg Vorbis files, lyrics in CP949, UTF-16
(with BOM) and UTF-8 with BOM, CRLF and mixed line endings, a few unknown
languages and artists.
"""


# --- caching ------------------------------------------------------------------------

def _is_complete(out_dir, record):
    """True if ``out_dir`` holds a finished corpus made with ``record``'s version and parameters."""
    try:
        found = json.loads((out_dir / "corpus.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = all(found.get(key) == value for key, value in record.items())
    return same and (out_dir / "metadata.csv").is_file()


def _refuse_foreign_folder(out_dir):
    """Never replace a folder that is not an (old or partial) demo corpus."""
    if not out_dir.exists():
        return
    ours = {"corpus.json", "metadata.csv", "truth.csv", "README.md", "audio", "lyrics"}
    foreign = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else [out_dir.name]
    foreign = [name for name in foreign if name not in ours]
    if foreign or not out_dir.is_dir():
        raise ValueError(
            f"demo corpus: {out_dir} exists and is not a demo corpus (it holds {foreign[:5]}); "
            "choose another out_dir or remove it"
        )
