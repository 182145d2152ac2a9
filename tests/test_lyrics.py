"""The lyrics stage: POS filtering, language, encodings, bad input, cache, vocabulary."""

import json
import math
import signal
import subprocess
import sys

import jpype
import numpy as np
import pandas as pd
import pytest

from mer_utils import accounting, config, lyrics, pos
from mer_utils.lyrics import Vocabulary, load_tokens, save_tokens, tag_all
from mer_utils.parallel import available_cores
from mer_utils.pos import pos_filter
from mer_utils.textio import normalize_lyrics
from mer_utils.vocabulary import class_association, coverage_curve, length_summary

from conftest import MIREX_ROOT, needs_mirex
from messy_corpus import ledger_of

ENGLISH_SONG = "I can't stop loving you, baby\nShe was dancing in the rain and we're so happy tonight\n"
KOREAN_SONG = "슬픈 눈물이 흘러\n오늘 밤 우리는 행복한 노래를 함께 불러요\n"
ENGLISH_WORDS = ["not", "stop", "loving", "baby", "dancing", "rain", "so", "happy", "tonight"]
KOREAN_WORDS = ["슬프다", "눈물", "흐르다", "오늘", "밤", "우리", "행복하다", "노래", "함께", "불다"]


@pytest.fixture(scope="module")
def okt():
    """Okt, started once for the module (the Java VM costs seconds)."""
    problem = pos.java_problem()
    if problem:
        pytest.skip(problem)
    return pos.korean_tagger("okt")


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def row(track_id, *, text="", path="", language="", status="kept"):
    return {"track_id": track_id, "lyrics_text": text, "lyrics_path": str(path), "language": language,
            "status": status}


def reasons(report):
    return {r.track_id: r.reason for r in report.rejections}


# --- POS filtering on fixed sentences -----------------------------------------------

def test_english_keeps_nouns_verbs_adjectives_adverbs():
    assert pos_filter(ENGLISH_SONG, language="en") == ENGLISH_WORDS


def test_english_negation_kept_auxiliaries_and_function_words_dropped():
    words = pos_filter("The old man has a dog and does nothing. They will not go!", language="en")
    assert words == ["old", "man", "has", "dog", "does", "nothing", "not", "go"]
    assert not {"is", "are", "was", "were", "will", "the", "they"} & set(pos_filter(
        "They are here, it is late, we were young and you will stay", language="en"))


def test_english_case_punctuation_markers_and_apostrophes():
    text = "[Chorus]\nDON\u2019T CRY!!! I\u2019m lovin\u2019 you... 'cause the stars shine brightly"
    assert pos_filter(text, language="en") == ["do", "not", "cry", "loving", "stars", "shine", "brightly"]


def test_korean_keeps_stemmed_content_words(okt):
    assert pos_filter(KOREAN_SONG, language="ko") == KOREAN_WORDS


def test_mixed_korean_english_line_keeps_order(okt):
    words = pos_filter("사랑해 baby I can't sleep tonight 눈물이 흘러", language="ko")
    assert words == ["사랑", "하다", "baby", "not", "sleep", "tonight", "눈물", "흐르다"]
    assert pos_filter("사랑해baby", language="ko") == ["사랑", "하다", "baby"]


def test_other_korean_tagger_is_a_parameter(okt):
    assert pos_filter("슬픈 눈물이 흘러", language="ko", korean_tagger="hannanum") == ["슬프", "눈물", "흐르"]
    with pytest.raises(ValueError, match="unknown Korean tagger 'nltk'"):
        pos_filter("슬픈 눈물", language="ko", korean_tagger="nltk")


def test_english_text_never_needs_the_korean_tagger(monkeypatch):
    monkeypatch.setattr(pos, "korean_tagger", lambda name: pytest.fail("Korean tagger started for English"))
    assert pos_filter("happy days", language="en") == ["happy", "days"]


def test_split_scripts_keeps_words_whole():
    assert pos.split_scripts("오늘 밤 baby I'm lovin' you 사랑해요!! yeah") == [
        ("ko", "오늘 밤 "), ("en", "baby I'm lovin' you "), ("ko", "사랑해요!! "), ("en", "yeah")]
    assert pos.split_scripts("... 123 !!!") == []


def test_language_from_manifest_or_detected():
    assert pos.resolve_language(" Korean ") == "ko" and pos.resolve_language("en-US") == "en"
    assert pos.resolve_language("") == "" and pos.resolve_language("ES") == "es"
    assert pos.detect_language(KOREAN_SONG) == "ko"
    assert pos.detect_language("오늘 밤 너와 함께 baby baby I love you so much tonight") == "ko"  # K-pop
    assert pos.detect_language(ENGLISH_SONG + "사랑해") == "en"
    assert pos.detect_language("... !!! 123") == ""
    with pytest.raises(ValueError, match="no POS tagger for language 'fr'"):
        pos_filter("bonjour", language="fr")


# --- the stage: encodings and bad input -------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp949", "euc-kr"])
def test_encodings_give_the_same_words(okt, tmp_path, cache, encoding):
    path = tmp_path / f"song-{encoding}.txt"
    path.write_bytes(KOREAN_SONG.replace("\n", "\r\n").encode(encoding))
    report = tag_all([row("k1", path=path, language="ko")], korean_tagger="okt", n_workers=1, cache_dir=cache)
    assert report.tokens == {"k1": KOREAN_WORDS}


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_western_legacy_encodings_are_tagged(tmp_path, cache, encoding):
    """Issue 13: such lyrics were rejected as undecodable_lyrics."""
    text = "Café au lait, the naïve señorita was dancing\nDéjà vu, the happy crème brûlée\n"
    path = tmp_path / "song.txt"
    path.write_bytes(text.encode(encoding))
    report = tag_all([row("w", path=path, language="en")], n_workers=1, cache_dir=cache)
    assert not report.rejections and report.tokens == {"w": pos_filter(text, language="en")}
    assert {"café", "naïve", "señorita", "happy"} <= set(report.tokens["w"])


def test_bad_inputs_are_rejected_with_reasons_naming_the_file(tmp_path, cache):
    files = {
        "empty": b"",
        "markers": b"[Chorus]\n... !!! ~\n(x2)\n[Verse 1]\n- ? -\n",
        "vocables": b"oh oh la la\nyeah yeah\n",
        "binary": bytes(range(256)) * 8,
    }
    for name, data in files.items():
        (tmp_path / f"{name}.txt").write_bytes(data)
    rows = [row(name, path=tmp_path / f"{name}.txt") for name in files] + [
        row("gone", path=tmp_path / "gone.txt"),
        row("nothing"),
        row("spanish", text="Te quiero mucho, mi amor", language="es"),
        row("huge", text="love and tears forever " * 10),
        row("fine", text=ENGLISH_SONG, language="en"),
        row("earlier", text=ENGLISH_SONG, status="rejected"),
    ]
    report = tag_all(rows, n_workers=1, max_chars=200, cache_dir=cache)
    assert reasons(report) == {
        "empty": "empty_lyrics", "markers": "empty_lyrics", "vocables": "no_content_words",
        "binary": "undecodable_lyrics", "gone": "missing_lyrics", "nothing": "missing_lyrics",
        "spanish": "unsupported_language", "huge": "lyrics_too_long",
    }
    assert list(report.tokens) == ["fine"]
    for rej in report.rejections:
        assert rej.reason in accounting.REASONS
        where = "inline lyrics" if rej.track_id in {"spanish", "huge"} else "nothing" if rej.track_id == "nothing" \
            else f"{rej.track_id}.txt"
        assert where in rej.detail, rej


def without_java(monkeypatch):
    """Make the Korean tagger believe no Java runtime is installed."""
    def no_jvm():
        raise jpype.JVMNotFoundException("No JVM shared library file (libjvm.so) found.")

    monkeypatch.setattr(jpype, "isJVMStarted", lambda: False)
    monkeypatch.setattr(jpype, "getDefaultJVMPath", no_jvm)
    monkeypatch.setattr(pos, "_KOREAN_TAGGER_CACHE", {})


def test_missing_java_gives_a_clear_reason_not_a_stack_trace(monkeypatch, cache):
    without_java(monkeypatch)
    report = tag_all([row("ko", text=KOREAN_SONG, language="ko"), row("en", text=ENGLISH_SONG, language="en")],
                     korean_tagger="okt", n_workers=1, cache_dir=cache)
    assert list(report.tokens) == ["en"]
    (rejection,) = report.rejections
    assert rejection.reason == "tagger_failed" and "no Java runtime found" in rejection.detail
    assert "JAVA_HOME" in rejection.detail and "Traceback" not in rejection.detail
    with pytest.raises(RuntimeError, match="1 tracks could not be POS-tagged.*install Java"):
        report.raise_if_tagger_unavailable()
    assert len(list(cache.rglob("*.json"))) == 1, "the English words are cached, the failure is not"


def run_lyrics_stage(layout, cache):
    """What notebook 03 does with the ledger: reopen the stage, tag the kept tracks, record the rejections."""
    ledger = accounting.reopen_stage(accounting.read_ledger(layout.tracks_csv), lyrics.STAGE)
    report = tag_all(accounting.kept(ledger), korean_tagger="okt", n_workers=1, cache_dir=cache)
    accounting.write_ledger(accounting.apply_rejections(ledger, report.rejections, stage=lyrics.STAGE),
                            layout.tracks_csv)
    save_tokens(layout, report.tokens)
    return report


def test_rerun_after_installing_java_tags_the_korean_tracks(okt, monkeypatch, cache, layout):
    """Issue 13: the rerun recomputes 03's own rejections (tagger_failed); 02's stand."""
    accounting.write_ledger(ledger_of([
        {"track_id": "ko", "lyrics_text": KOREAN_SONG, "language": "ko"},
        {"track_id": "en", "lyrics_text": ENGLISH_SONG, "language": "en", "label": "negative"},
        {"track_id": "silent", "lyrics_text": ENGLISH_SONG, "status": "rejected", "reason": "silent_audio",
         "detail": "rejected by 02", "stage": "02_mels"},
    ]), layout.tracks_csv)
    with monkeypatch.context() as no_java:
        without_java(no_java)
        first = run_lyrics_stage(layout, cache)
    assert reasons(first) == {"ko": "tagger_failed"} and load_tokens(layout) == {"en": ENGLISH_WORDS}
    second = run_lyrics_stage(layout, cache)  # Java is back
    assert not second.rejections and load_tokens(layout) == {"ko": KOREAN_WORDS, "en": ENGLISH_WORDS}
    ledger = accounting.read_ledger(layout.tracks_csv).set_index("track_id")
    assert ledger["status"].to_dict() == {"ko": "kept", "en": "kept", "silent": "rejected"}
    assert ledger.loc["silent", ["reason", "stage"]].tolist() == ["silent_audio", "02_mels"]


def test_a_tagger_crash_costs_only_that_track(monkeypatch, cache):
    real = lyrics.pos_filter

    def flaky(text, **kwargs):
        if "crash" in text:
            raise RuntimeError("java.lang.NullPointerException\n\tat kr.co.shineware.Tagger.pos(Tagger.java:42)")
        return real(text, **kwargs)

    monkeypatch.setattr(lyrics, "pos_filter", flaky)
    report = tag_all([row("a", text="crash the happy party"), row("b", text="happy party")], n_workers=1,
                     cache_dir=cache)
    assert report.tokens == {"b": ["happy", "party"]}
    assert report.rejections[0].detail == "track a (inline lyrics): RuntimeError: java.lang.NullPointerException"


def test_ledger_dataframe_and_accounting(okt, cache):
    ledger = pd.DataFrame([row("k", text=KOREAN_SONG), row("e", text=ENGLISH_SONG), row("x", text="!!!"),
                           row("r", text=ENGLISH_SONG, status="rejected")])
    report = tag_all(ledger, korean_tagger="okt", n_workers=1, cache_dir=cache)
    assert report.languages == {"k": "ko", "e": "en"} and report.detected == {"k", "e"}
    kept = set(ledger.track_id[ledger.status == "kept"])
    assert set(report.tokens) | {r.track_id for r in report.rejections} == kept
    assert not set(report.tokens) & {r.track_id for r in report.rejections}


def test_missing_cells_read_as_nan_are_empty(cache):
    ledger = pd.DataFrame({"track_id": ["a", "b"], "lyrics_text": ["happy days", np.nan],
                           "lyrics_path": [np.nan, np.nan], "language": [np.nan, "en"]})
    report = tag_all(ledger, n_workers=1, cache_dir=cache)
    assert report.tokens == {"a": ["happy", "days"]} and report.detected == {"a"}
    assert reasons(report) == {"b": "missing_lyrics"}


# --- cache and parallelism -----------------------------------------------------------------

def test_rerun_reads_the_cache(okt, cache):
    rows = [row("k", text=KOREAN_SONG, language="ko"), row("e", text=ENGLISH_SONG, language="en"),
            row("e2", text=ENGLISH_SONG.replace("\n", "\r\n") + "[Chorus]\n", language="en")]
    first = tag_all(rows, korean_tagger="okt", n_workers=1, cache_dir=cache)
    assert (first.cache_hits, first.cache_misses) == (0, 2), "e2 normalises to e's text"
    second = tag_all(rows, korean_tagger="okt", n_workers=1, cache_dir=cache)
    assert (second.cache_hits, second.cache_misses) == (3, 0) and second.tokens == first.tokens
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    hannanum = tag_all(rows, korean_tagger="hannanum", n_workers=1, cache_dir=cache)
    assert (hannanum.cache_hits, hannanum.cache_misses) == (2, 1), "only the Korean text depends on the tagger"


def test_killed_run_keeps_the_texts_it_tagged(monkeypatch, cache):
    """Issue 13: each text's words reach the cache as it is done, not when all are."""
    rows = [row(f"t{i}", text=f"{word} dreams fade slowly") for i, word in enumerate(["sweet", "dark", "golden"])]
    real, tagged = lyrics.pos_filter, []

    def killed_at_the_third(text, **kwargs):
        if len(tagged) == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside the loop
        tagged.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(lyrics, "pos_filter", killed_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        tag_all(rows, n_workers=1, cache_dir=cache)
    monkeypatch.setattr(lyrics, "pos_filter", real)
    assert len(list(cache.rglob("*.json"))) == 2 and not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    resumed = tag_all(rows, n_workers=1, cache_dir=cache)
    assert (resumed.cache_hits, resumed.cache_misses) == (2, 1)
    assert resumed.tokens == {"t0": ["sweet", "dreams", "fade", "slowly"], "t1": ["dark", "dreams", "fade", "slowly"],
                              "t2": ["golden", "dreams", "fade", "slowly"]}


def test_a_rerun_removes_the_entry_a_killed_run_was_writing(cache):
    """SIGKILL mid-write leaves the temporary of atomic_write, named by the killed pid, beside the missing entry."""
    rows = [row("t0", text="sweet dreams fade slowly")]
    key = lyrics.token_cache_key(normalize_lyrics(rows[0]["lyrics_text"]), language="en", korean_tagger="okt")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder = cache / key[:2]
    folder.mkdir(parents=True)
    abandoned = folder / f".{key}.json.{int(ended.stdout)}.tmp"
    abandoned.write_text('{"key": "half a')
    assert tag_all(rows, n_workers=1, cache_dir=cache).tokens == {"t0": ["sweet", "dreams", "fade", "slowly"]}
    assert not abandoned.exists() and (folder / f"{key}.json").is_file()


def test_cache_key_covers_text_language_tagger_and_rules(monkeypatch):
    key = lyrics.token_cache_key
    assert key("눈물", language="ko", korean_tagger="okt") != key("눈물", language="ko", korean_tagger="kkma")
    assert key("tears", language="en", korean_tagger="okt") == key("tears", language="en", korean_tagger="kkma")
    assert key("tears", language="en", korean_tagger="okt") != key("tear", language="en", korean_tagger="okt")
    before = key("tears", language="en", korean_tagger="okt")
    monkeypatch.setattr(pos, "TOKEN_RULES_VERSION", pos.TOKEN_RULES_VERSION + 1)
    assert key("tears", language="en", korean_tagger="okt") != before


def test_corrupt_cache_entry_is_ignored(cache):
    rows = [row("e", text="happy days")]
    tag_all(rows, n_workers=1, cache_dir=cache)
    (entry,) = cache.rglob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    report = tag_all(rows, n_workers=1, cache_dir=cache)
    assert report.tokens == {"e": ["happy", "days"]} and report.cache_misses == 1


def test_worker_pool_gives_the_same_words(cache):
    rows = [row(f"t{i}", text=f"{word} dreams fade slowly") for i, word in enumerate(["sweet", "dark", "golden"])]
    pooled = tag_all(rows, n_workers=2, cache_dir=cache / "pool")
    single = tag_all(rows, n_workers=1, cache_dir=cache / "single")
    assert pooled.n_workers == 2 and pooled.tokens == single.tokens
    assert lyrics.choose_workers(0, 764) == 1, "automatic: a pool does not pay for itself at this size"
    assert lyrics.choose_workers(0, 5763) == 1, "nor at the paper's size (docs/benchmarks.md)"
    assert lyrics.choose_workers(0, 10**6) == min(available_cores(), 250)
    with pytest.raises(ValueError, match="n_workers"):
        lyrics.choose_workers(-1, 10)


def test_tokens_round_trip(layout):
    tokens = {"001": ["눈물", "love"], "002": ["happy"]}
    save_tokens(layout, tokens)
    assert load_tokens(layout) == tokens
    layout.tokens_json.write_text('{"001": "not a list"}', encoding="utf-8")
    with pytest.raises(ValueError, match="tokens.json: expected an object"):
        load_tokens(layout)
    layout.tokens_json.unlink()
    with pytest.raises(ValueError, match="run notebook 03_lyrics first"):
        load_tokens(layout)


# --- vocabulary --------------------------------------------------------------------------

def test_vocabulary_ids_and_size():
    vocab = Vocabulary.fit([["love", "rain", "love"], ["rain", "sun", "love"], ["moon"]], max_size=4)
    assert vocab.words == ["love", "rain"] and len(vocab) == 4  # padding + OOV + 2 words
    assert Vocabulary.fit([["b", "a"]], max_size=10).words == ["a", "b"], "ties in alphabetical order"
    with pytest.raises(ValueError, match="max_size must be an integer >= 2"):
        Vocabulary.fit([["a"]], max_size=1)


def test_vocabulary_never_sees_validation_text():
    train = [["love", "sun", "love"], ["sun", "rain"]]
    val = [["love", "thunder"], ["lightning"]]
    vocab = Vocabulary.fit(train, max_size=100)
    assert not {"thunder", "lightning"} & set(vocab.words)
    assert vocab.coverage(val) == pytest.approx(1 / 3)
    curve = coverage_curve(train, val, sizes=[3, 100])
    assert curve.val_coverage.tolist() == pytest.approx([1 / 3, 1 / 3])  # only 'love' is known
    assert curve.train_coverage.tolist() == pytest.approx([2 / 5, 1.0])  # love, sun: 2 each, love first


def test_encode_truncates_the_end_and_pads_the_end():
    vocab = Vocabulary(["a", "b", "c"])
    encoded = vocab.encode([["a", "b", "c", "a", "b"], ["c", "zzz"], []], max_len=4)
    assert encoded.dtype == np.int32 and encoded.shape == (3, 4)
    assert encoded.tolist() == [[2, 3, 4, 2], [4, 1, 0, 0], [0, 0, 0, 0]]
    assert vocab.decode(encoded[1]) == ["c", "<oov>"]
    assert vocab.encode([], max_len=7).shape == (0, 7)
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        vocab.encode([["a"]], max_len=0)
    with pytest.raises(ValueError, match=r"token_lists\[0\] must be a list of words"):
        vocab.encode(["a b c"], max_len=4)


def test_vocabulary_save_load(tmp_path):
    vocab = Vocabulary.fit([["눈물", "love", "눈물"]], max_size=27496)
    path = vocab.save(tmp_path / "vocabulary.json")
    assert "눈물" in path.read_text(encoding="utf-8")
    loaded = Vocabulary.load(path)
    assert loaded.words == vocab.words and len(loaded) == len(vocab) == 4
    (tmp_path / "other.json").write_text(json.dumps({"words": ["a"]}))
    with pytest.raises(ValueError, match="other.json: not a vocabulary file"):
        Vocabulary.load(tmp_path / "other.json")


# --- statistics shown by notebook 03 -------------------------------------------------------

def test_length_summary():
    summary = length_summary([["w"] * 2, ["w"] * 4, ["w"] * 10], max_len=4)
    assert summary["median"] == 4 and summary["max"] == 10
    assert summary["truncated_share"] == pytest.approx(1 / 3)
    assert summary["words_lost_share"] == pytest.approx(6 / 16)


def test_class_association_log_odds_by_hand():
    tokens = [["joy", "sun"], ["joy", "sun"], ["joy"], ["tears", "sun"], ["tears"]]
    labels = [1, 1, 1, 0, 0]
    table = class_association(tokens, labels, top=1, min_tracks=1)
    assert table.word.tolist() == ["joy", "tears"] and table.label.tolist() == ["positive", "negative"]
    # joy: in 3 of 3 positive, 0 of 2 negative tracks; smoothing 0.5
    p_pos, p_neg = 3.5 / 4, 0.5 / 3
    expected = math.log(p_pos / (1 - p_pos)) - math.log(p_neg / (1 - p_neg))
    assert table.log_odds.iloc[0] == pytest.approx(expected)
    assert table.iloc[1][["tracks_positive", "tracks_negative"]].tolist() == [0, 2]
    with pytest.raises(ValueError, match="both present"):
        class_association(tokens, [1] * 5)


# --- the real dataset ----------------------------------------------------------------------

@needs_mirex
def test_real_dataset_lyrics_all_usable(tmp_path):
    files = sorted((MIREX_ROOT / "Lyrics").glob("*.txt"))
    report = tag_all([row(p.stem, path=p) for p in files], n_workers=1, cache_dir=tmp_path)
    assert len(files) == 764 and not report.rejections
    assert set(report.languages.values()) == {"en"}
    assert np.median([len(t) for t in report.tokens.values()]) > 50


# --- notebook 03 helpers ---------------------------------------------------------------------

def test_tagging_examples_show_one_track_per_language(okt):
    ledger = pd.DataFrame([row("k1", text=KOREAN_SONG), row("k2", text="눈물"), row("e1", text=ENGLISH_SONG),
                           row("x", text="!!!")])
    examples = lyrics.tagging_examples(ledger, korean_tagger="okt", n_lines=1)
    assert examples.groupby("language").track_id.unique().map(list).to_dict() == {"en": ["e1"], "ko": ["k1"]}
    korean = examples[examples.language == "ko"]
    assert korean.word.tolist() == ["슬프다", "눈물", "이", "흐르다"]
    assert korean.kept_as.tolist() == ["adjective", "noun", "", "verb"]


@pytest.mark.parametrize("name, heap", [("okt", config.KOREAN_TAGGER_HEAP_MB), ("kkma", config.KOREAN_TAGGER_HEAP_MB),
                                        ("mecab", None)])
def test_java_taggers_start_with_the_configured_heap(monkeypatch, name, heap):
    """Each tagging worker starts its own Java VM: its heap is what keeps stage 03 under its memory budget."""
    import konlpy.tag

    made = {}

    def fake_tagger(**options):
        made.update(options)
        return "tagger"

    monkeypatch.setattr(konlpy.tag, pos.KOREAN_TAGGERS[name].class_name, fake_tagger)
    monkeypatch.setattr(pos, "start_java", lambda *, max_heap_mb: made.update(java_heap=max_heap_mb))
    monkeypatch.setattr(pos, "java_problem", lambda: None)
    monkeypatch.setattr(pos, "_KOREAN_TAGGER_CACHE", {})
    assert pos.korean_tagger(name) == "tagger"
    assert made.get("max_heap_size") == heap
    assert made.get("java_heap") == heap


SIGTERM_AFTER_TAGGING = """
import os, signal, sys
from mer_utils import pos
pos.tag_korean(["사랑해"], tagger="okt")
import jpype
print(" ".join(jpype.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()), flush=True)
os.kill(os.getpid(), signal.SIGTERM)
signal.pause()
"""


def test_a_terminated_process_with_the_java_vm_dies_of_the_signal(okt, tmp_path):
    """Jupyter and papermill end kernels with SIGTERM: Python, not the VM's handler, must take it.

    Without -Xrs the VM's signal thread exits the process itself (status 143), running JPype's
    shutdown hook against a dying Python: the rare crash that left hs_err_pid*.log files behind.
    """
    done = subprocess.run([sys.executable, "-c", SIGTERM_AFTER_TAGGING], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert "-Xrs" in done.stdout.split(), done.stderr
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert not list(tmp_path.glob("hs_err_pid*.log"))
