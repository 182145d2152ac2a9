"""Part-of-speech filtering of lyrics: keep nouns, verbs, adjectives and adverbs.

The paper keeps "only noun, verb, adjective, and adverb in words of lyrics"
(Jeon et al. 2017, section 2). Its lyrics are K-pop: Korean lines with
English words in them. Every run of one script therefore goes to the tagger
of that script, whatever the track's language:

- Hangul runs -> a konlpy tagger (default ``okt``: Open Korean Text with
  stemming, so verbs and adjectives come back in dictionary form, e.g.
  ``행복한`` -> ``행복하다``). Okt's ``norm`` option (repair of chat spelling
  such as ``사랑햌``) is off: lyrics are edited text, and it makes tagging
  four to five times slower. konlpy runs in a Java virtual machine, started once per
  process on first use; the Hangul runs of a text go to it in one call.
- Latin runs -> TextBlob's ``PatternTagger`` (Penn Treebank tags). Its lexicon
  ships inside the ``textblob`` wheel, so it works offline and downloads
  nothing at run time (TextBlob's other entry points need NLTK data: unused).
- Letters of other scripts (kana, hanzi, Cyrillic, ...) are not tagged.

English token rules (bump :data:`TOKEN_RULES_VERSION` when they change, so
cached tokens are recomputed):

- Curly apostrophes become ``'``; contractions are split the Penn Treebank
  way before tagging (``can't`` -> ``can n't``, ``you're`` -> ``you 're``),
  because TextBlob's own tokenizer mangles them; ``lovin'`` -> ``loving``;
  ``'cause``/``'til``/``'em`` -> ``because``/``until``/``them``.
  Hyphenated words are tagged as their parts; digits and punctuation are dropped.
- Kept: Penn tags ``NN*`` (nouns, proper nouns too), ``VB*``, ``JJ*``, ``RB*``.
  Dropped: modals (``MD``), particles (``RP``), wh-adverbs (``WRB``),
  interjections (``UH``), function words.
- Negation is kept: ``n't`` (tagged ``RB``) becomes ``not``, which matters
  for emotion (*not happy*).
- Forms of *be* and contracted auxiliaries (``'s 're 'm 've 'd 'll``) are
  dropped although tagged ``VB*``: they are the copula / auxiliaries of
  almost every line and carry no content. *have* and *do* are kept (as main
  verbs they do carry content, and a tagger cannot tell the two uses apart).
- Words are lower-cased after tagging (the tagger uses case for proper nouns);
  no lemmatisation (TextBlob's lemmatiser needs WordNet data, not offline).

Korean: the konlpy tags mapped to the four classes are in :data:`KOREAN_TAGGERS`;
Okt's ``Noun/Verb/Adjective/Adverb``. Particles (Josa), endings and
punctuation are dropped.
"""

import functools
import importlib.metadata
import re
import tempfile
from dataclasses import dataclass, field

from . import config

#: Version of the token rules above; part of every token-cache key.
TOKEN_RULES_VERSION = 1
#: Languages with a tagger here (ISO 639-1).
SUPPORTED_LANGUAGES = ("ko", "en")
#: Spellings of a language accepted in a manifest's ``language`` column.
LANGUAGE_ALIASES = {
    "ko": "ko", "kor": "ko", "korean": "ko", "ko-kr": "ko", "ko_kr": "ko",
    "en": "en", "eng": "en", "english": "en", "en-us": "en", "en_us": "en", "en-gb": "en", "en_gb": "en",
}

_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff"
_LATIN = "A-Za-z\u00c0-\u024f"
_HANGUL_LETTER = re.compile(f"[{_HANGUL}]")
_SCRIPT_RUN = re.compile(f"(?P<ko>[{_HANGUL}]+)|(?P<en>[{_LATIN}]+)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'", "\u02bc": "'"})
_ELISIONS = {"'cause": "because", "'cos": "because", "'em": "them", "'til": "until",
             "'round": "around", "'bout": "about"}
_ENGLISH_WORD = re.compile(
    r"'(?:cause|cos|em|til|round|bout)(?![A-Za-z])"
    f"|[{_LATIN}]+(?:'[{_LATIN}]+)*'?",
    re.IGNORECASE,
)
_IRREGULAR_NEGATIONS = {"can't": ("can", "n't"), "won't": ("will", "n't"), "ain't": ("is", "n't"),
                        "shan't": ("shall", "n't"), "cannot": ("can", "not")}
_CLITICS = {"s", "re", "m", "ve", "d", "ll"}
#: Penn Treebank tag prefixes of the four kept word classes.
PENN_POS = {"NN": "noun", "VB": "verb", "JJ": "adjective", "RB": "adverb"}
#: English verb forms dropped although tagged VB* (see the module docstring).
ENGLISH_AUXILIARIES = frozenset(
    {"be", "am", "is", "are", "was", "were", "been", "being", "'s", "'re", "'m", "'ve", "'d", "'ll"}
)


@dataclass(frozen=True)
class KoreanTaggerSpec:
    """How to call one konlpy tagger and which of its tags are kept."""

    class_name: str
    pos_of_tag: dict
    options: dict = field(default_factory=dict)
    needs_java: bool = True


_SEJONG = {"NNG": "noun", "NNP": "noun", "VV": "verb", "VA": "adjective", "MAG": "adverb"}
#: Korean taggers by the name used in notebook parameters (``korean_tagger``).
KOREAN_TAGGERS = {
    "okt": KoreanTaggerSpec("Okt", {"Noun": "noun", "Verb": "verb", "Adjective": "adjective", "Adverb": "adverb"},
                            {"stem": True}),
    "komoran": KoreanTaggerSpec("Komoran", _SEJONG),
    "kkma": KoreanTaggerSpec("Kkma", _SEJONG),
    "hannanum": KoreanTaggerSpec("Hannanum", {"NC": "noun", "NQ": "noun", "PV": "verb", "PA": "adjective",
                                              "MA": "adverb"}, {"ntags": 22}),
    "mecab": KoreanTaggerSpec("Mecab", _SEJONG, needs_java=False),
}


class TaggerUnavailableError(RuntimeError):
    """A tagger cannot run on this machine (no Java, missing library); the message says how to fix it."""


@dataclass(frozen=True)
class TaggedWord:
    """One word as tagged: ``pos`` is one of :data:`config.KEPT_POS` when kept, else ``None``."""

    word: str
    tag: str
    pos: str | None
    script: str


# --- language -------------------------------------------------------------------

def resolve_language(value):
    """Canonical code of a manifest ``language`` value: ``"ko"``, ``"en"``, ``""`` (unknown) or the input.

    Unsupported languages come back lower-cased and unchanged (``"es"``), so
    that the caller can reject the track naming the language.
    """
    code = str(value or "").strip().lower()
    return LANGUAGE_ALIASES.get(code, code)


def detect_language(text, *, hangul_share=config.HANGUL_SHARE_KO):
    """Guess the language of lyrics from the share of Hangul among its letters.

    Parameters
    ----------
    text : str
    hangul_share : float
        ``"ko"`` when at least this share of the letters are Hangul. A Hangul
        syllable is one letter and an English word about four, so K-pop lyrics
        with half their words in English still score about 0.2-0.3, while an
        English song quoting a Korean phrase stays under 0.05.

    Returns
    -------
    str
        ``"ko"``, ``"en"`` (any other letters: only English is supported
        besides Korean), or ``""`` when the text has no letters.
    """
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return ""
    return "ko" if len(_HANGUL_LETTER.findall(text)) / letters >= hangul_share else "en"


def has_hangul(text):
    """Whether ``text`` contains Hangul (and so needs the Korean tagger)."""
    return _HANGUL_LETTER.search(text) is not None


def validate_language(language):
    """Raise ``ValueError`` unless ``language`` (after :func:`resolve_language`) has a tagger here."""
    code = resolve_language(language)
    if code not in SUPPORTED_LANGUAGES:
        raise ValueError(f"no POS tagger for language {language!r} (supported: {', '.join(SUPPORTED_LANGUAGES)})")
    return code


def validate_korean_tagger(name):
    """Raise ``ValueError`` unless ``name`` is a key of :data:`KOREAN_TAGGERS`."""
    if name not in KOREAN_TAGGERS:
        raise ValueError(f"unknown Korean tagger {name!r} (known: {', '.join(KOREAN_TAGGERS)})")
    return KOREAN_TAGGERS[name]


# --- script runs -------------------------------------------------------------------

def split_scripts(line):
    """Cut a line into runs of one script, in order.

    Characters that are neither Hangul nor Latin (spaces, apostrophes,
    punctuation, digits) stay with the run before them, so ``"lovin'"`` and
    ``"I'm"`` remain whole.

    Returns
    -------
    list of (str, str)
        ``(script, text)`` pairs, script ``"ko"`` or ``"en"``; empty when the
        line has no Hangul or Latin letters.
    """
    runs = []
    for match in _SCRIPT_RUN.finditer(line):
        script = match.lastgroup
        if runs and runs[-1][0] == script:
            continue
        if runs:
            runs[-1][2] = match.start()
        runs.append([script, match.start(), len(line)])
    if runs:
        runs[0][1] = 0
    return [(script, line[start:end]) for script, start, end in runs]


# --- English ----------------------------------------------------------------------

def english_words(text):
    """Words of a Latin-script run, contractions split for the tagger (see module docstring)."""
    words = []
    for token in _ENGLISH_WORD.findall(text.translate(_APOSTROPHES)):
        lower = token.lower()
        if lower in _ELISIONS:
            words.append(_ELISIONS[lower])
        elif lower in _IRREGULAR_NEGATIONS:
            words.extend(_IRREGULAR_NEGATIONS[lower])
        elif lower.endswith("n't") and len(lower) > 3:
            words.extend((token[:-3], "n't"))
        elif lower.endswith("in'"):
            words.append(token[:-1] + "g")
        else:
            token = token.rstrip("'")
            base, _, clitic = token.partition("'")
            words.extend((base, "'" + clitic) if clitic.lower() in _CLITICS else (token,))
    return words


@functools.cache
def _english_tagger():
    from textblob.en.taggers import PatternTagger

    return PatternTagger()


def tag_english(sentences):
    """Penn Treebank tags of pre-split sentences, in one call to the tagger.

    Parameters
    ----------
    sentences : list of list of str
        Words from :func:`english_words` (no spaces inside a word).

    Returns
    -------
    list of list of (str, str)
        ``(word, tag)`` per word, same shape as ``sentences``.
    """
    nonempty = [s for s in sentences if s]
    tagged = _english_tagger().tag("\n".join(" ".join(s) for s in nonempty), tokenize=False) if nonempty else []
    result, position = [], 0
    for sentence in sentences:
        result.append([tuple(pair) for pair in tagged[position:position + len(sentence)]])
        position += len(sentence)
    if position != len(tagged):
        raise RuntimeError(f"English tagger returned {len(tagged)} tags for {position} words")
    return result


def english_pos(word, tag):
    """Kept word class of an English ``(word, tag)``, or ``None`` (rules in the module docstring)."""
    if word.lower() in ENGLISH_AUXILIARIES:
        return None
    return PENN_POS.get(tag[:2])


# --- Korean -----------------------------------------------------------------------

_KOREAN_TAGGER_CACHE = {}


def java_problem():
    """Why konlpy's Java taggers cannot start here, or ``None`` when Java is available."""
    try:
        import jpype
    except ImportError as err:
        return f"the Python package JPype1 (needed by konlpy) is not installed: {err}"
    if jpype.isJVMStarted():
        return None
    try:
        jpype.getDefaultJVMPath()
    except Exception as err:  # JVMNotFoundException, JVMNotSupportedException
        return (
            "no Java runtime found, and konlpy's Korean taggers run in Java: install Java 8 or newer "
            "(e.g. `apt install openjdk-17-jre-headless`, or `conda install openjdk=17`) "
            f"or point JAVA_HOME at one ({type(err).__name__}: {err})"
        )
    return None


def korean_tagger(name):
    """The konlpy tagger ``name``, created once per process (this starts the JVM).

    Raises
    ------
    ValueError
        Unknown tagger name.
    TaggerUnavailableError
        The tagger cannot run here (no Java, konlpy failed to start it); the
        failure is remembered, so later calls fail at once with the same message.
    """
    spec = validate_korean_tagger(name)
    if name not in _KOREAN_TAGGER_CACHE:
        _KOREAN_TAGGER_CACHE[name] = _start_korean_tagger(name, spec)
    tagger = _KOREAN_TAGGER_CACHE[name]
    if isinstance(tagger, TaggerUnavailableError):
        raise tagger
    return tagger


def _start_korean_tagger(name, spec):
    problem = java_problem() if spec.needs_java else None
    if problem:
        return TaggerUnavailableError(f"Korean tagger {name!r} unavailable: {problem}")
    try:
        import konlpy.tag

        options = {}
        if spec.needs_java:
            start_java(max_heap_mb=config.KOREAN_TAGGER_HEAP_MB)
            options = {"max_heap_size": config.KOREAN_TAGGER_HEAP_MB}
        return getattr(konlpy.tag, spec.class_name)(**options)
    except Exception as err:  # konlpy raises anything from ImportError to Java exceptions
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return TaggerUnavailableError(f"Korean tagger {name!r} could not start: {type(err).__name__}: {first_line}")


def start_java(*, max_heap_mb):
    """Start the process's Java VM as konlpy does, plus :data:`config.KOREAN_JVM_OPTIONS`.

    konlpy's ``init_jvm`` builds the class path of its taggers but takes no VM
    options, so its call to ``jpype.startJVM`` gets them added on the way. Does
    nothing when a VM already runs (konlpy's taggers then use that one).

    Parameters
    ----------
    max_heap_mb : int
        The VM's maximum heap (``-Xmx``), in MB.
    """
    import jpype
    from konlpy import jvm

    if jpype.isJVMStarted():
        return
    tmp = tempfile.gettempdir()
    options = [option.format(tmp=tmp) for option in config.KOREAN_JVM_OPTIONS]
    start = jpype.startJVM
    jpype.startJVM = lambda *args, **kwargs: start(*args, *options, **kwargs)
    try:
        jvm.init_jvm(max_heap_size=max_heap_mb)
    finally:
        jpype.startJVM = start


#: Joins the Hangul runs of a text so the tagger is called once per text (a
#: call costs far more than its words); tagged alone as a foreign symbol.
_RUN_SEPARATOR = "\u241e"


def tag_korean(chunks, *, tagger="okt"):
    """konlpy tags of Hangul runs, in one call to the tagger.

    Parameters
    ----------
    chunks : list of str
    tagger : str
        A key of :data:`KOREAN_TAGGERS`.

    Returns
    -------
    list of list of (str, str)
        ``(morpheme, tag)`` per chunk.
    """
    spec = validate_korean_tagger(tagger)
    if not chunks:
        return []  # English text: never start the Java VM
    instance = korean_tagger(tagger)
    joined = f" {_RUN_SEPARATOR} ".join(chunk.replace(_RUN_SEPARATOR, " ") for chunk in chunks)
    result = [[]]
    for morpheme, tag in instance.pos(joined, **spec.options):
        if morpheme == _RUN_SEPARATOR:
            result.append([])
        else:
            result[-1].append((morpheme, tag))
    if len(result) != len(chunks):  # the separator did not survive: tag chunk by chunk
        result = [instance.pos(chunk, **spec.options) for chunk in chunks]
    return result


# --- both -------------------------------------------------------------------------

def tagger_version(*, korean_tagger=None):
    """Names and versions of the taggers used, for cache keys and provenance.

    ``korean_tagger=None`` when the text has no Hangul (its tokens do not
    depend on the Korean tagger, so they are shared across tagger choices).
    """
    parts = [f"textblob-{importlib.metadata.version('textblob')}-pattern", f"rules-{TOKEN_RULES_VERSION}"]
    if korean_tagger:
        parts.append(f"konlpy-{importlib.metadata.version('konlpy')}-{korean_tagger}")
    return "/".join(parts)


def tag_words(text, *, language, korean_tagger="okt"):
    """Tag every word of ``text`` and mark the kept ones.

    Parameters
    ----------
    text : str
        Lyrics, ideally normalised already (:func:`mer_utils.textio.normalize_lyrics`);
        one line is one sentence for the English tagger.
    language : str
        ``"ko"``, ``"en"`` or ``""`` (unknown: any text is accepted). Each
        script run goes to its own tagger whatever the language, so mixed
        Korean/English lines are handled; the language only has to be supported.
    korean_tagger : str
        A key of :data:`KOREAN_TAGGERS`; started only if the text has Hangul.

    Returns
    -------
    list of TaggedWord
        In text order; ``pos`` is ``None`` for dropped words.

    Raises
    ------
    ValueError
        Unsupported language or unknown tagger.
    TaggerUnavailableError
        The text has Hangul and the Korean tagger cannot run here.
    """
    if resolve_language(language):
        validate_language(language)
    spec = validate_korean_tagger(korean_tagger)
    pieces = [(script, chunk) for line in text.splitlines() for script, chunk in split_scripts(line)]
    english = iter(tag_english([english_words(chunk) for script, chunk in pieces if script == "en"]))
    korean = iter(tag_korean([chunk for script, chunk in pieces if script == "ko"], tagger=korean_tagger))
    words = []
    for script, _ in pieces:
        if script == "en":
            words.extend(TaggedWord(w.lower(), t, english_pos(w, t), "en") for w, t in next(english))
        else:
            words.extend(TaggedWord(m, t, spec.pos_of_tag.get(t), "ko") for m, t in next(korean))
    return [TaggedWord("not", w.tag, w.pos, w.script) if w.word == "n't" else w for w in words]


def pos_filter(text, *, language, korean_tagger="okt"):
    """The nouns, verbs, adjectives and adverbs of ``text``, in order (the paper's lyrics input).

    Parameters are those of :func:`tag_words`; the text is normalised first
    (:func:`mer_utils.textio.normalize_lyrics`: section markers such as
    ``[Chorus]`` removed, Unicode NFC).

    Returns
    -------
    list of str
        English words lower-cased, Korean verbs/adjectives in dictionary form (Okt).

    Examples
    --------
    >>> pos_filter("I can't stop loving you", language="en")
    ['not', 'stop', 'loving']
    """
    from .textio import normalize_lyrics

    text = normalize_lyrics(text)
    return [w.word for w in tag_words(text, language=language, korean_tagger=korean_tagger) if w.pos]
