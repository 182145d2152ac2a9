"""Lyrics for the generated demo corpus (:mod:`mer_utils.demo.corpus`).

Lines are short sentences built from templates whose slots take emotion
words (positive or negative), neutral words, times and places. A song is a
few verses and a repeated chorus, some with ``[Verse 1]`` / ``[Chorus]``
markers. Korean lines are sentences Okt can tag ("오늘 밤 거리에서 너와 함께
행복한 노래를 불러"), with the particles matched to the preceding syllable,
and some carry English words as K-pop lyrics do.

The emotion is in the slot words: most come from the song's polarity, some
from the other one (noise); a share of the lines is neutral filler.
"""

import re

from ..hangul import FINAL_RIEUL, final_consonant

#: Emotion and neutral vocabulary, by language. Adjectives are in the form
#: that precedes a noun (Korean: 관형형); verbs in the form that ends a line.
WORDS = {
    "ko": {
        "positive": {
            "adj": ("행복한", "즐거운", "신나는", "설레는", "따뜻한", "눈부신", "반짝이는",
                    "사랑스러운", "기쁜", "달콤한", "환한", "상쾌한"),
            "noun": ("햇살", "미소", "웃음", "축제", "희망", "설렘", "행복", "사랑", "기쁨",
                     "꿈", "봄날", "무지개"),
            "verb": ("웃어", "춤을 춰", "노래해", "빛나", "날아올라", "뛰어", "신나", "행복해",
                     "사랑해"),
            "english": ("so happy", "shine on", "feel so good", "sunshine"),
        },
        "negative": {
            "adj": ("슬픈", "외로운", "아픈", "차가운", "쓸쓸한", "어두운", "그리운", "시린",
                    "우울한", "괴로운", "흐린", "허전한"),
            "noun": ("눈물", "이별", "상처", "그림자", "후회", "그리움", "외로움", "슬픔",
                     "아픔", "어둠", "한숨", "빗물"),
            "verb": ("울어", "무너져", "떠나가", "잊혀져", "아파", "흔들려", "헤매", "외로워",
                     "그리워"),
            "english": ("so lonely", "I miss you", "goodbye", "tears"),
        },
        "neutral": {
            "noun": ("창문", "버스", "시간", "하늘", "바람", "길", "집", "커피", "전화", "도시",
                     "골목", "노래", "사진", "편지", "기억", "계절", "주말", "지하철"),
            "time": ("오늘 밤", "이른 아침", "주말 오후", "늦은 밤", "어제", "매일", "지금",
                     "퇴근길", "새벽"),
            "place": ("거리", "골목", "버스 정류장", "바닷가", "창가", "옥상", "지하철", "공원",
                      "방 안", "교실"),
            "english": ("baby", "oh yeah", "tonight", "my love", "forever", "hey"),
        },
    },
    "en": {
        "positive": {
            "adj": ("happy", "bright", "sunny", "sweet", "golden", "shining", "joyful",
                    "wonderful", "beautiful", "glowing", "carefree", "cheerful"),
            "noun": ("sunshine", "smile", "laughter", "party", "dream", "hope", "summer",
                     "heaven", "rainbow", "celebration", "joy", "light"),
            "verb": ("dance", "shine", "smile", "laugh", "celebrate", "fly", "sing", "glow",
                     "jump", "shout"),
        },
        "negative": {
            "adj": ("lonely", "broken", "cold", "empty", "dark", "bitter", "lost", "tired",
                    "fading", "hollow", "sad", "grey"),
            "noun": ("tears", "sorrow", "heartache", "shadow", "rain", "goodbye", "darkness",
                     "regret", "pain", "silence", "grief", "ashes"),
            "verb": ("cry", "fall", "bleed", "break", "weep", "fade", "drown", "grieve",
                     "ache", "mourn"),
        },
        "neutral": {
            "noun": ("street", "window", "city", "train", "phone", "morning", "road", "radio",
                     "coffee", "letter", "corner", "room", "song", "car", "weekend", "bus"),
            "time": ("tonight", "this morning", "every day", "all night", "on sunday",
                     "right now", "at midnight", "after school"),
            "place": ("the city", "the street", "the station", "the corner", "my room",
                      "the car", "the beach", "the bus"),
            "english": ("oh", "yeah", "baby", "hey"),
        },
    },
}

#: Line templates. {A} {N} {V}: an emotion adjective, noun, verb; {T} {P} {X}:
#: a neutral time, place, noun. Korean particles are written as alternatives
#: ({이/가}) and chosen by the syllable before them.
EMOTION_TEMPLATES = {
    "ko": (
        "{T} {P}에서 너와 함께 {A} 노래를 불러",
        "{A} {N} 속에서 나는 {V}",
        "너의 {N}{이/가} 내 마음을 채워",
        "{T}도 {P}{을/를} 걸으며 {V}",
        "{A} 너의 목소리가 들려",
        "{X}에 남은 {N}{을/를} 바라봐",
        "우리의 {A} {X}{을/를} 기억해",
        "{T} 창밖에 {N}{이/가} 내려",
        "{N}{으로/로} 가득한 {X}",
        "나는 오늘도 {V}",
        "{A} 밤이 지나면 다시 {V}",
    ),
    "en": (
        "{T} we {V} in {P}",
        "your {A} {N} is all I see",
        "I {V} with you {T}",
        "{A} {N} fills {P}",
        "hold my hand and {V}",
        "{a A} {X} in {P}",
        "there is {N} in every {X}",
        "we were {A} {T}",
        "I still {V} when I think of you",
        "{N} on the {X} again",
    ),
}
NEUTRAL_TEMPLATES = {
    "ko": (
        "{T} {P}에서 너를 기다려",
        "{X}{을/를} 들고 {P}{으로/로} 가",
        "{X} 소리가 조용히 들려",
        "너에게 {X}{을/를} 보내",
        "창밖의 {X}{을/를} 바라봐",
        "{T} {X}{이/가} 천천히 지나가",
    ),
    "en": (
        "I walk down {P} {T}",
        "the {X} is waiting by {P}",
        "call me {T}",
        "turn the {X} on and drive",
        "we talk about the {X} {T}",
        "take the {X} to {P}",
    ),
}
#: Share of verse lines built on an emotion template (chorus lines always are).
EMOTION_LINE_SHARE = 0.7
#: Section markers some lyrics files carry (the lyrics stage removes them).
VERSE_MARKERS = ("[Verse {}]", "[verse {}]", "Verse {}:")
CHORUS_MARKERS = ("[Chorus]", "[chorus]", "[Hook]", "Chorus:")
#: Sung syllables that carry no content word (the POS filter keeps none of them).
VOCABLES = ("la", "na", "oh", "yeah", "hey")
#: Korean particle pairs: (after a final consonant, after a vowel).
_PARTICLES = {"이/가": ("이", "가"), "을/를": ("을", "를"), "은/는": ("은", "는"), "으로/로": ("으로", "로")}
_PARTICLE_SLOT = re.compile(r"(\S)\{(이/가|을/를|은/는|으로/로)\}")


def write_lyrics(label, language, *, rng, n_words, faithful):
    """Write the lyrics of one song.

    Parameters
    ----------
    label : {"positive", "negative"}
    language : {"ko", "en"}
    rng : numpy.random.Generator
    n_words : int
        Approximate length in whitespace-separated words (markers excluded);
        the song stops at the first line that reaches it.
    faithful : float
        Probability that an emotion slot takes a word of ``label`` rather
        than of the other polarity.

    Returns
    -------
    list of str
        The lines, ``""`` between sections (line endings are the caller's).
    """
    def line(emotional):
        polarity = label if rng.random() < faithful else _other(label)
        templates = EMOTION_TEMPLATES if emotional else NEUTRAL_TEMPLATES
        text = _fill(pick(rng, templates[language]), language, polarity, rng)
        if language == "ko" and rng.random() < 0.25:  # K-pop: English words in Korean lines
            text += " " + pick(rng, WORDS["ko"][polarity if rng.random() < 0.5 else "neutral"]["english"])
        return text

    chorus = [line(True) for _ in range(int(rng.integers(1, 3)))]
    chorus_marker = pick(rng, CHORUS_MARKERS) if rng.random() < 0.6 else None
    verse_marker = pick(rng, VERSE_MARKERS) if rng.random() < 0.5 else None
    lines, count, verse = [], 0, 1
    while count < n_words:
        section = [line(rng.random() < EMOTION_LINE_SHARE) for _ in range(int(rng.integers(2, 5)))]
        lines += ([verse_marker.format(verse)] if verse_marker else []) + section + [""]
        lines += ([chorus_marker] if chorus_marker else []) + chorus * int(rng.integers(1, 3)) + [""]
        count += sum(len(text.split()) for text in section) + sum(len(text.split()) for text in chorus)
        verse += 1
    return _trim(lines, n_words)


def write_short_lyrics(label, language, *, rng, n_words):
    """A few emotional lines totalling fewer than ``n_words`` words (for the too-few-words defect)."""
    lines = []
    while True:
        text = _fill(pick(rng, EMOTION_TEMPLATES[language]), language, label, rng)
        if sum(len(t.split()) for t in lines) + len(text.split()) >= n_words:
            return lines or [" ".join(text.split()[:n_words - 1])]
        lines.append(text)


def write_marker_only_lyrics(*, rng, n_tokens):
    """Section markers and punctuation only, at least ``n_tokens`` whitespace tokens, no word."""
    fillers = ("...", "!!!", "~", "♪", "-", "?!", "(x2)", "♪♪", "…")
    lines = []
    while sum(len(t.split()) for t in lines) < n_tokens:
        lines.append(pick(rng, CHORUS_MARKERS[:3] + ("[Intro]", "[Outro]", "[Verse 1]")))
        lines.append(" ".join(pick(rng, fillers) for _ in range(int(rng.integers(3, 7)))))
    return lines


def write_vocable_lyrics(*, rng, n_words):
    """Lines of sung syllables only ("la la la", "oh yeah"): words, but no noun, verb, adjective or adverb.

    Lower case on purpose: a tagger reads a capitalised "La" as a proper noun.
    """
    lines = []
    while sum(len(t.split()) for t in lines) < n_words:
        lines.append(" ".join(pick(rng, VOCABLES) for _ in range(int(rng.integers(3, 8)))))
    return lines


def write_title(label, language, *, rng):
    """A song title: an emotion adjective and noun ("Golden Sunshine", "차가운 눈물") or a neutral noun."""
    if rng.random() < 0.4:
        return pick(rng, WORDS[language]["neutral"]["noun"]).title()
    words = WORDS[language][label]
    return f"{pick(rng, words['adj'])} {pick(rng, words['noun'])}".title()


def _fill(template, language, polarity, rng):
    words, neutral = WORDS[language][polarity], WORDS[language]["neutral"]
    slots = {"A": words["adj"], "N": words["noun"], "V": words["verb"],
             "T": neutral["time"], "P": neutral["place"], "X": neutral["noun"]}
    text = re.sub(r"\{(a )?([ANVTPX])\}", lambda m: _article(m, pick(rng, slots[m.group(2)])), template)
    return attach_particles(text) if language == "ko" else text


def _article(match, word):
    """English article for ``{a A}`` slots: "an empty", "a sweet"."""
    if not match.group(1):
        return word
    return ("an " if word[0] in "aeiou" else "a ") + word


def attach_particles(text):
    """Fill Korean particle slots by the syllable before: "사랑{이/가}" -> "사랑이", "미소{이/가}" -> "미소가"."""
    return _PARTICLE_SLOT.sub(_particle, text)


def _particle(match):
    """Pick the Korean particle that fits the last syllable (final consonant or not)."""
    syllable = match.group(1)
    after_consonant, after_vowel = _PARTICLES[match.group(2)]
    final = final_consonant(syllable)
    if match.group(2) == "으로/로" and final == FINAL_RIEUL:  # ㄹ takes 로: "길로"
        return syllable + after_vowel
    return syllable + (after_consonant if final else after_vowel)


def _trim(lines, n_words):
    """Drop trailing lines beyond ``n_words`` words, keep at least one line."""
    kept, count = [], 0
    for text in lines:
        is_marker = text.startswith(("[", "Verse", "Chorus")) or not text
        if count >= n_words and not is_marker:
            break
        kept.append(text)
        count += 0 if is_marker else len(text.split())
    while kept and (not kept[-1] or kept[-1].startswith(("[", "Verse", "Chorus"))):
        kept.pop()
    return kept


def _other(label):
    return "negative" if label == "positive" else "positive"


def pick(rng, options):
    """One element of ``options`` (a sequence), drawn with ``rng``."""
    return options[int(rng.integers(len(options)))]
