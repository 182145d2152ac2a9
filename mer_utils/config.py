"""Constants of the study, in one place.

Every value the paper fixes is defined here once, with the paper's value as
the default. Profiles (``papermill_runs/profiles/*.yaml``) and notebook
parameters override them; nothing else in the package hard-codes them.

Reference: B. Jeon, C. Kim, A. Kim, D. Kim, J. Park, J.-W. Ha, "Music Emotion
Recognition via End-to-End Multimodal Neural Networks", RecSys 2017 posters.
"""

from types import MappingProxyType

# --- labels -----------------------------------------------------------------
#: Class names in index order of the paper's binary task (the default): softmax
#: output 1 is the positive class. A run with a LABEL_MAP has the classes it
#: names instead; a run's own classes are in its splits file
#: (:func:`mer_utils.splits.load_classes`).
LABELS = ("negative", "positive")
#: Tag -> class mapping for any other label scheme (e.g. Russell's four quadrants,
#: the five MIREX mood clusters); empty: the binary polarity dictionaries below.
#: Not in the paper.
LABEL_MAP = MappingProxyType({})

# --- data filtering (paper section 2) ---------------------------------------
#: Editor-tag polarity dictionary. The paper names 'happy' and 'cheerful'
#: (positive) and 'sad' and 'lonely' (negative); the rest completes the
#: dictionary in the same spirit. Matching is case-insensitive on whole tags.
POSITIVE_TAGS = (
    "happy", "cheerful", "joyful", "bright", "exciting", "fun", "upbeat",
    "refreshing", "sweet", "lovely", "energetic", "hopeful",
)
NEGATIVE_TAGS = (
    "sad", "lonely", "gloomy", "melancholy", "sorrowful", "heartbroken",
    "depressed", "tearful", "dark", "painful", "bitter", "longing",
)
#: Tracks shorter than this are rejected (paper: "less than a minute").
MIN_DURATION_S = 60.0
#: Tracks whose lyrics have fewer words are rejected (paper: 30).
MIN_LYRICS_WORDS = 30
#: Undersample the larger class so both are equally large (paper: 3,742 each).
BALANCE_CLASSES = True
#: Tracks of the generated demo corpus unless a profile says otherwise (not in the paper).
DEMO_N_TRACKS = 300
#: Sample rate of the demo corpus's FLAC files: 16 kHz keeps it small (not in the paper).
DEMO_SAMPLE_RATE = 16000

# --- splits (paper section 4) -------------------------------------------------
#: Number of random train/validation splits ("5 runs").
N_SPLITS = 5
#: Validation share of each split (90/10).
VAL_FRACTION = 0.1
#: "shuffle": independent seeded random splits (paper); "kfold": stratified k-fold;
#: "given": the corpus's own parts (its CSV's split column).
SPLIT_SCHEME = "shuffle"
#: Keep all songs of an artist on one side of every split (the paper does not).
GROUP_BY_ARTIST = False
#: Global default seed; every random step derives its own seed from it.
SEED = 2017

# --- modalities ---------------------------------------------------------------
#: Inputs a run uses: "auto" (each modality the corpus gives for at least one
#: track), "audio", "lyrics" or "both" (the paper: both). Not in the paper.
MODALITIES = "auto"

# --- audio input --------------------------------------------------------------
#: Sample rate audio is resampled to. The paper does not say; 22.05 kHz is
#: librosa's default and keeps the top mel bands below Nyquist.
SAMPLE_RATE = 22050
#: Length of the excerpt from the start of the track ("first one minute").
CLIP_SECONDS = 60.0
#: Mel bands (paper: 128).
N_MELS = 128
#: Time frames per clip (paper: 1024 for one minute).
N_FRAMES = 1024
#: FFT window. Not in the paper; 2048 samples (~93 ms) is librosa's default.
N_FFT = 2048
#: A clip shorter than CLIP_SECONDS by at most this fraction is zero-padded at
#: the end (MP3 encoder delay; 30 s previews that are 29.7 s); shorter ones are
#: rejected. Not in the paper.
CLIP_PAD_TOLERANCE = 0.05
#: A clip whose peak stays below this level (dB full scale) is rejected as
#: silent. Not in the paper.
SILENCE_PEAK_DBFS = -60.0
#: Floor of the log-mel power: 10*log10(1e-10) = -100 dB (librosa's default amin).
LOG_AMIN = 1e-10

# --- lyrics input -------------------------------------------------------------
#: Vocabulary cap including padding and out-of-vocabulary ids (paper: 27,496).
VOCAB_SIZE = 27496
#: Sequence length after padding / truncation (paper: 400).
MAX_LEN = 400
#: Word classes kept after POS tagging (paper: noun, verb, adjective, adverb).
KEPT_POS = ("noun", "verb", "adjective", "adverb")
#: Korean POS tagger (konlpy). Not in the paper; Okt (Open Korean Text) is
#: built for informal Korean such as lyrics and can stem verbs and adjectives.
KOREAN_TAGGER = "okt"
#: Java heap of the konlpy taggers that run in Java, in MB (konlpy's default: 1,024).
#: Okt tags the same texts as fast with 512 and its process holds ~440 MB instead
#: of ~670, which keeps stage 03 with two tagging workers (each its own Java VM)
#: under 1.5 GB at the paper's size; Kkma, the hungriest, tags lyrics within it too.
KOREAN_TAGGER_HEAP_MB = 512
#: Options added to konlpy's when it starts the Java VM. ``-Xrs`` leaves SIGTERM and SIGINT to
#: Python: without it the VM's signal thread runs JPype's shutdown hook, which calls into a Python
#: that is being torn down, and a kernel that Jupyter or papermill terminates could crash and leave
#: ``hs_err_pid*.log`` in the notebook folder. Crash reports, if any, go to the temporary folder
#: (``{tmp}`` is filled in at start).
KOREAN_JVM_OPTIONS = ("-Xrs", "-XX:ErrorFile={tmp}/mer_utils_java_error_%p.log")
#: Language detection when the manifest has none: Korean when at least this
#: share of the letters are Hangul (one syllable = one letter, so K-pop lyrics
#: with half their words in English still score about 0.2-0.3).
HANGUL_SHARE_KO = 0.1
#: Lyrics longer than this (characters, after normalisation) are rejected:
#: ~7x the longest real song lyric seen (1,412 words), so not a song.
MAX_LYRICS_CHARS = 50_000

# --- models (paper section 3) -------------------------------------------------
#: Output size of the lyrics word embedding (paper: 200).
EMBEDDING_DIM = 200
#: Length of each branch's embedding vector, the dense layer FCa / FCl (paper: 64).
BRANCH_DIM = 64
#: Filters of the five audio Conv1D layers. The paper lists four numbers
#: (128, 128, 64, 64) for five layers; the fifth repeating the last (64) is
#: our choice, the one that keeps the stack narrowing monotonically.
AUDIO_CONV_FILTERS = (128, 128, 64, 64, 64)
#: Kernel size of every audio Conv1D layer (paper: 3).
AUDIO_CONV_KERNEL = 3
#: Pool sizes of the five MaxPooling1D layers (paper: 3, 3, 3, 2, 2).
AUDIO_POOL_SIZES = (3, 3, 3, 2, 2)
#: Units of each GRU layer (paper: 64) and GRU layers in the audio branch (paper: 2).
GRU_UNITS = 64
AUDIO_GRU_LAYERS = 2
#: Filters and kernel size of the lyrics Conv1D layer (paper: 250 and 3).
LYRICS_CONV_FILTERS = 250
LYRICS_CONV_KERNEL = 3
#: Output size of the fused dense layer FCm, with ReLU (paper: 64).
FUSED_DIM = 64
#: Starting weights of the lyrics word embedding: "random" (the paper: learnt from
#: scratch) or "wordllama" (each word's WordLlama vector, English; then trained
#: with the rest, see mer_utils.pretrained.lyrics_features.embedding_matrix).
EMBEDDING_INIT = "random"
EMBEDDING_INITS = ("random", "wordllama")

# --- training (the paper is silent: our choices, argued in mer_utils.training) --
#: Maximum epochs; early stopping usually ends training sooner.
EPOCHS = 30
#: Tracks per mini-batch.
BATCH_SIZE = 32
#: Adam's learning rate (Keras' default for Adam).
LEARNING_RATE = 0.001
#: Dropout rate on each branch embedding (0 disables dropout).
DROPOUT = 0.25
#: Epochs without a lower validation loss before training stops (0 = never stop early).
PATIENCE = 5
#: Weight the loss by inverse class frequency (notebook 01 already balances classes).
CLASS_WEIGHTS = False
#: float16 compute on a GPU (ignored on CPU, where it would only be slower).
MIXED_PRECISION = False
#: Training loads the run's feature matrix whole when it takes at most this many MB,
#: else reads each batch's rows from the file (the paper's 7,484 one-minute tracks are
#: ~2 GB). Speed only: the numbers are the same either way. 256 MB keeps a training
#: process under 1.5 GB (it peaks at ~1.15 GB reading rows from the file; see
#: docs/benchmarks.md); the demo and MIREX-like runs fit. Not in the paper.
FEATURE_MEMORY_MB = 256
#: Random-crop training of the mel models (audio and fused): 0 reads whole clips (the paper's protocol);
#: W > 0 builds the model for W frames, trains on a fresh random window of W frames of each clip every
#: epoch and predicts a clip as the mean of its windows (mer_utils.training). Not in the paper.
CROP_FRAMES = 0
#: The short schedule of the demo profile (make reproduce), which notebooks 04-06 use by hand with
#: ``quick = True``: the demo corpus's audio models reach their lowest validation loss in 1-2 epochs.
QUICK_EPOCHS = 3
QUICK_PATIENCE = 1

# The paper's Table 1 accuracies are listed with the models, in mer_utils.catalogue.MODELS.

# --- running the per-track stages (not in the paper) -----------------------------
#: Where the per-track stages (02, 03) run their work: "local" (this machine's
#: process pool), "dask" (a Dask LocalCluster started for the stage) or the
#: address of a running Dask scheduler, "tcp://host:port" (docs/scaling.md).
EXECUTOR = "local"

# --- parameter checks -----------------------------------------------------------
#: Values the runner (mer_utils.run) accepts for the notebook parameters, checked
#: before any notebook runs, after the type each notebook declares. A number's
#: range is an interval: "[1, inf)" is 1 or more, "(0, 1)" strictly between 0
#: and 1. A tuple lists the allowed values (each must match its module's list;
#: a test checks they agree). Limits that depend on the data (enough tracks per
#: class for n_splits, frames that fit in the clip) are checked by the notebooks.
#: A list parameter's rule applies to each element (and the list may not be empty).
#: A tuple entry ending in "://" allows addresses of that scheme, which must answer.
PARAMETER_RANGES = {
    "seed": "[0, 4294967295]",  # NumPy seeds are unsigned 32-bit integers
    "demo_n_tracks": "[1, inf)",
    "min_duration_s": "[0, inf)",
    "min_lyrics_words": "[0, inf)",
    "n_splits": "[1, inf)",  # kfold needs 2 or more: notebook 01 says so
    "val_fraction": "(0, 1)",
    "sample_rate": "[1, inf)",
    "clip_seconds": "(0, inf)",
    "n_mels": "[1, inf)",
    "n_frames": "[1, inf)",
    "n_fft": "[2, inf)",
    "n_workers": "[0, inf)",  # 0: automatic
    "executor": ("local", "dask", "tcp://"),  # parallel.EXECUTORS; tcp://host:port of a running Dask scheduler
    "feature_memory_mb": "[0, inf)",  # 0: always read the feature matrix's rows from its file
    "vocab_size": "[2, inf)",  # padding and out-of-vocabulary ids included
    "max_len": "[1, inf)",
    "epochs": "[1, inf)",
    "batch_size": "[1, inf)",
    "learning_rate": "(0, inf)",
    "dropout": "[0, 1)",
    "patience": "[0, inf)",  # 0: never stop early
    "crop_frames": "[0, inf)",  # 0: whole clips; what the model accepts is checked when it is built
    "embedding_init": ("random", "wordllama"),  # EMBEDDING_INITS
    "corpus": ("demo", "mirex", "csv", "folder"),  # corpus.CORPORA
    "split_scheme": ("shuffle", "kfold", "given"),  # splits.SCHEMES
    "modalities": ("auto", "audio", "lyrics", "both"),  # modality.CHOICES
    "korean_tagger": ("okt", "komoran", "kkma", "hannanum", "mecab"),  # pos.KOREAN_TAGGERS
    "audio_models": ("cnn", "rnn", "cnn_rnn"),  # catalogue models audio_<name>
    "lyrics_models": ("cnn", "rnn"),  # catalogue models lyrics_<name>
    "repeats": "[0, inf)",  # notebook 08's repeated folds (0: none)
    "musicnn_seconds": "(3, inf)",  # notebook 08: at least one 3 s musicnn patch
    "musicnn_model": ("MSD_musicnn", "MTT_musicnn"),  # pretrained.musicnn.MODELS
    "finetune_epochs": "[1, inf)",  # notebook 08's fine-tuned musicnn
    "nested_models": ("audio_cnn", "audio_rnn", "audio_cnn_rnn", "lyrics_cnn", "lyrics_rnn", "fused"),  # catalogue
}
#: List parameters for which an empty list is a choice ("none"), not a mistake.
MAY_BE_EMPTY = ("nested_models",)  # notebook 08: retrain no paper model never-tuned
#: Parameters that name a file or folder. Given with ``--set``, a relative one is relative
#: to where the command runs (the notebooks themselves run in ``notebooks/``), and its text
#: is taken literally, not read as YAML (where `` #`` would start a comment).
PATH_PARAMETERS = ("corpus_path", "song_path", "lyrics_path")
