"""Knowledge-base files, hybrid search and the relevance threshold."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from finai.assist import demo_test_data
from finai.assist.kb_store import demo_entries
from finai.assist.knowledge import (
    CHUNK_WORDS,
    INTENT_BOOST,
    RELEVANCE_THRESHOLD,
    Entry,
    EntryDraft,
    KnowledgeIndex,
    choose_threshold,
    parse_entries,
    slugify,
)
from finai.exceptions import ValidationError

FAQ = b"""# Card help

<!-- internal note: not an entry -->

## When will my card arrive?
key: card-arrival
intents: card_arrival, card_delivery_estimate

Cards arrive within 5 working days.

## How do I change my PIN?
intents: change_pin

Use any ATM.
"""


def parse(text: str, name: str = "faq.md") -> list[EntryDraft]:
    return parse_entries(text.encode(), name)


def test_markdown_entries_with_keys_intents_and_comments_left_out() -> None:
    drafts = parse_entries(FAQ, "uploads/faq.md")
    assert drafts == [
        EntryDraft(
            "card-arrival",
            "When will my card arrive?",
            "Cards arrive within 5 working days.",
            "faq.md",
            ("card_arrival", "card_delivery_estimate"),
        ),
        EntryDraft(
            "how-do-i-change-my-pin",
            "How do I change my PIN?",
            "Use any ATM.",
            "faq.md",
            ("change_pin",),
        ),
    ]


def test_markdown_preamble_and_headingless_document_become_entries() -> None:
    drafts = parse(
        "# Refund policy\n\nWe refund within 15 days.\n\n## Disputes\n\nOpen one in the app.\n"
    )
    assert [(d.key, d.title) for d in drafts] == [
        ("refund-policy", "Refund policy"),
        ("disputes", "Disputes"),
    ]
    (only,) = parse("Plain text policy.\n", "Fee_schedule.md")
    assert (only.key, only.title, only.body) == (
        "fee-schedule",
        "Fee schedule",
        "Plain text policy.",
    )


def test_headings_inside_code_fences_are_not_entries() -> None:
    (draft,) = parse("## Example\n\n```\n## not a heading\n```\n")
    assert "## not a heading" in draft.body


def test_long_policy_is_chunked_at_paragraphs() -> None:
    paragraph = " ".join(["word"] * 100)
    body = "\n\n".join([paragraph] * 5)
    drafts = parse(f"## Fees\nkey: fees\n\n{body}\n")
    assert [d.key for d in drafts] == [
        "fees-part-1",
        "fees-part-2",
        "fees-part-3",
        "fees-part-4",
        "fees-part-5",
    ]
    assert drafts[0].title == "Fees (part 1 of 5)"
    assert all(len(d.body.split()) <= CHUNK_WORDS for d in drafts)
    (long_one,) = parse(f"## Huge\n\n{' '.join(['w'] * 100)}\n")
    split = parse(f"## Huge\n\n{' '.join(['w'] * (CHUNK_WORDS * 2 + 1))}\n")
    assert long_one.key == "huge" and [d.key for d in split] == [
        "huge-part-1",
        "huge-part-2",
        "huge-part-3",
    ]


def test_csv_entries() -> None:
    data = (
        "\ufeffQuestion,Answer,key,intents\n"
        'Where is my card?,"Cards arrive in 5 days, usually.",card-arrival,'
        "card_arrival;card_delivery_estimate\n"
        "\n"
        "Can I close my account?,Yes: Account > Close.,,terminate_account\n"
    )
    drafts = parse(data, "faq.csv")
    assert drafts[0] == EntryDraft(
        "card-arrival",
        "Where is my card?",
        "Cards arrive in 5 days, usually.",
        "faq.csv",
        ("card_arrival", "card_delivery_estimate"),
    )
    assert drafts[1].key == "can-i-close-my-account"
    assert parse("title,body\nT,B\n", "x.csv")[0].body == "B"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "faq.md", "is empty"),
        (b"  \n\n", "faq.md", "is empty"),
        (b"## A\n\nB", "faq.pdf", "unsupported file type"),
        (b"## A\n\nB", "faq", "unsupported file type"),
        (b"## A\n\n\xff\xfe caf\xe9", "faq.md", "not UTF-8"),
        (b"## A\n\x00\x01", "faq.md", "binary"),
        (b"## A\n\nB\n\n## A\n\nC\n", "faq.md", "used twice"),
        (b"## A\n\n", "faq.md", "has no text"),
        (b"## A\nkey: Not A Slug\n\nB", "faq.md", "key 'Not A Slug'"),
        (b"## A\nintents: ok, b@d\n\nB", "faq.md", "intent 'b@d'"),
        (b"## ???\n\nB", "faq.md", "cannot derive a key"),
        (b"q,a\nx,y\n", "faq.csv", "needs a 'question' (or 'title') column; found: q, a"),
        (b"question,notes\nx,y\n", "faq.csv", "needs a 'answer' (or 'body') column"),
        (b"question,answer\nx\n", "faq.csv", "row 2: 1 fields"),
        (b"question,answer\nx,\n", "faq.csv", "row 2: entry 'x' has no text"),
        (b"question,answer\n", "faq.csv", "holds no entries"),
    ],
)
def test_bad_files_are_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        parse_entries(data, name)
    assert caught.value.field == "file"


def test_slugify() -> None:
    assert slugify("Café: where's my card?") == "cafe-where-s-my-card"
    assert slugify("!!!") == ""
    assert len(slugify("word " * 40)) <= 80


def test_demo_faq_is_tagged_with_banking77_intents() -> None:
    drafts = demo_entries()
    assert 25 <= len(drafts) <= 40
    assert len({d.key for d in drafts}) == len(drafts)
    _texts, labels = demo_test_data()
    known = set(labels)
    tagged = {intent for d in drafts for intent in d.intents}
    assert tagged <= known
    assert {"card_arrival", "lost_or_stolen_card", "change_pin", "terminate_account"} <= tagged
    assert all(d.intents for d in drafts)


# --- the index, with a small deterministic encoder (hashed bag of words) --------------


def bag_of_words(texts: Sequence[str]) -> NDArray[np.float32]:
    rows = np.zeros((len(texts), 64), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            rows[i, int(hashlib.sha256(word.encode()).hexdigest(), 16) % 64] += 1
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms == 0, 1, norms)).astype(np.float32)


def entries() -> list[Entry]:
    return [
        Entry(
            "card-arrival",
            2,
            "When will my card arrive?",
            "Cards arrive within 5 days.",
            "faq.md",
            ("card_arrival",),
        ),
        Entry(
            "change-pin",
            1,
            "How do I change my PIN?",
            "Use any ATM to change the PIN.",
            "faq.md",
            ("change_pin",),
        ),
        Entry(
            "fees",
            1,
            "Transfer fees",
            "International transfers cost 0.5 percent.",
            "faq.md",
            ("transfer_fee_charged",),
        ),
    ]


def test_search_ranks_the_matching_entry_first_with_scores_in_unit_range() -> None:
    index = KnowledgeIndex(entries(), encoder=bag_of_words)
    hits = index.search("how can I change my pin", k=3)
    assert hits[0].entry.key == "change-pin"
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert hits[0].score > hits[1].score >= hits[2].score
    assert len(index.search("pin", k=1)) == 1


def test_off_topic_query_scores_low_and_answer_refuses() -> None:
    index = KnowledgeIndex(entries(), encoder=bag_of_words, threshold=0.5)
    assert index.search("weather tomorrow in paris")[0].score < 0.2
    assert index.answer("weather tomorrow in paris") is None
    found = index.answer("when will my card arrive")
    assert found is not None and found.entry.key == "card-arrival" and found.entry.version == 2


def test_intent_boosts_tagged_entries() -> None:
    index = KnowledgeIndex(entries(), encoder=bag_of_words)
    plain = {h.entry.key: h.score for h in index.search("fees for my card", k=3)}
    boosted = {
        h.entry.key: h.score for h in index.search("fees for my card", intent="card_arrival", k=3)
    }
    assert boosted["card-arrival"] == pytest.approx(min(1.0, plain["card-arrival"] + INTENT_BOOST))
    assert boosted["fees"] == pytest.approx(plain["fees"])


def test_empty_index_and_empty_query() -> None:
    assert KnowledgeIndex([], encoder=bag_of_words).search("card") == []
    assert KnowledgeIndex(entries(), encoder=bag_of_words).search("   ") == []
    with pytest.raises(ValueError, match="unique keys"):
        KnowledgeIndex(entries() + entries()[:1], encoder=bag_of_words)


def test_choose_threshold_separates_answerable_from_off_topic() -> None:
    index = KnowledgeIndex(entries(), encoder=bag_of_words)
    choice = choose_threshold(
        index,
        [("when will my card arrive", "card_arrival"), ("change my pin", "change_pin")],
        ["weather tomorrow", "a good pizza place"],
    )
    assert choice.answered_correctly == 1.0 and choice.refused == 1.0
    assert 0.0 < choice.threshold <= 1.0


# --- the real index: all-MiniLM-L6-v2 over the demo FAQ (one model load) --------------


@pytest.fixture(scope="module")
def demo_index() -> KnowledgeIndex:
    drafts = demo_entries()
    return KnowledgeIndex([Entry(d.key, 1, d.title, d.body, d.source, d.intents) for d in drafts])


@pytest.mark.parametrize(
    ("question", "intent", "key"),
    [
        ("My new card still hasn't arrived, where is it?", "card_arrival", "card-arrival"),
        ("Someone stole my card yesterday", None, "lost-or-stolen-card"),
        ("How do I close my account?", "terminate_account", "close-account"),
    ],
)
def test_demo_questions_are_answered(
    demo_index: KnowledgeIndex, question: str, intent: str | None, key: str
) -> None:
    hit = demo_index.answer(question, intent=intent)
    assert hit is not None and hit.entry.key == key and hit.score >= RELEVANCE_THRESHOLD


@pytest.mark.parametrize(
    "question",
    ["What's the weather like tomorrow?", "Can you recommend a good pizza place nearby?"],
)
def test_off_topic_questions_get_no_answer(demo_index: KnowledgeIndex, question: str) -> None:
    assert demo_index.answer(question) is None
