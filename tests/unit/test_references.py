"""Case references: readable aloud, random, and self-checking against typing mistakes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from shared.domain.references import ALPHABET, new_reference, normalise_reference

SHAPE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]$")
CONFUSABLE = set("0O1I")
# Positions of the nine significant characters in `XXXX-XXXX-X`.
POSITIONS = [i for i in range(11) if i not in (4, 9)]


def test_a_new_reference_has_the_shape_xxxx_xxxx_x() -> None:
    for _ in range(200):
        assert SHAPE.match(new_reference())


def test_the_alphabet_has_no_easily_confused_characters() -> None:
    assert not CONFUSABLE & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 32


def test_generated_references_never_use_0_o_1_or_i() -> None:
    used = set("".join(new_reference() for _ in range(2_000))) - {"-"}

    assert not used & CONFUSABLE
    assert used <= set(ALPHABET)


def test_two_thousand_references_are_all_different() -> None:
    refs = [new_reference() for _ in range(2_000)]

    assert len(set(refs)) == len(refs)


def test_consecutive_references_are_unrelated() -> None:
    refs = [new_reference() for _ in range(1_000)]
    distances = [
        sum(a != b for a, b in zip(x[:9], y[:9], strict=True))
        for x, y in zip(refs, refs[1:], strict=False)
    ]

    # Random 8-character bodies differ in about 7.75 places; a counter would differ in ~1.
    assert sum(distances) / len(distances) > 6


def test_a_generated_reference_is_accepted_as_it_is() -> None:
    for _ in range(200):
        ref = new_reference()
        assert normalise_reference(ref) == ref


@pytest.mark.parametrize("typed", [
    pytest.param(lambda r: r.lower(), id="lowercase"),
    pytest.param(lambda r: r.replace("-", ""), id="no-dashes"),
    pytest.param(lambda r: r.lower().replace("-", ""), id="lowercase-no-dashes"),
    pytest.param(lambda r: f"  {r[:4]}  {r[5:9]} {r[10]}  ", id="spaces-instead-of-dashes"),
    pytest.param(lambda r: f" {r} ", id="surrounding-spaces"),
    pytest.param(lambda r: " ".join(r.replace("-", "")), id="spelled-out"),
])
def test_a_reference_typed_loosely_is_normalised(typed: Callable[[str], str]) -> None:
    for _ in range(20):
        ref = new_reference()
        assert normalise_reference(typed(ref)) == ref


def check_char_for(body: str) -> str:
    """The one check character that makes `body` valid (found by trying each symbol)."""
    valid = [c for c in ALPHABET if normalise_reference(body + c)]
    assert len(valid) == 1
    return valid[0]


def test_a_reference_with_any_one_character_changed_is_rejected() -> None:
    for ref in ["K7XM-4QPA-" + check_char_for("K7XM4QPA"), *[new_reference() for _ in range(4)]]:
        for pos in POSITIONS:
            for symbol in ALPHABET:
                if symbol == ref[pos]:
                    continue
                mistyped = ref[:pos] + symbol + ref[pos + 1:]
                assert normalise_reference(mistyped) is None, (ref, mistyped)


@pytest.mark.parametrize("cut", [
    pytest.param(lambda r: r[:-1], id="check-character-missing"),
    pytest.param(lambda r: r[:8] + r[9:], id="body-character-missing"),
    pytest.param(lambda r: r + "A", id="one-extra"),
    pytest.param(lambda r: r + "-" + r, id="doubled"),
    pytest.param(lambda r: "", id="empty"),
    pytest.param(lambda r: "----", id="only-dashes"),
])
def test_a_reference_of_the_wrong_length_is_rejected(cut: Callable[[str], str]) -> None:
    ref = new_reference()

    assert normalise_reference(cut(ref)) is None


@pytest.mark.parametrize("forbidden", sorted(CONFUSABLE))
def test_a_reference_with_a_forbidden_character_is_rejected(forbidden: str) -> None:
    for pos in POSITIONS:
        ref = new_reference()
        assert normalise_reference(ref[:pos] + forbidden + ref[pos + 1:]) is None


def test_a_reference_with_non_latin_characters_is_rejected() -> None:
    ref = new_reference()

    assert normalise_reference(ref[:2] + "\u0417" + ref[3:]) is None  # Cyrillic Ze, looks like 3


def test_most_swapped_neighbours_are_rejected() -> None:
    caught = swaps = 0
    for _ in range(500):
        chars = new_reference().replace("-", "")
        for i in range(len(chars) - 1):
            if chars[i] == chars[i + 1]:
                continue
            swapped = chars[:i] + chars[i + 1] + chars[i] + chars[i + 2:]
            swaps += 1
            caught += normalise_reference(swapped) is None

    assert caught / swaps > 0.95
