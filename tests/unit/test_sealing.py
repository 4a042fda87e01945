"""Sealing personal data at rest: round trip, nothing readable in the token, key rotation."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet

from shared.sealing import Sealer, SealingError, new_key

CANARY = "CANARY-7f3a"


def personal_data() -> dict[str, object]:
    return {
        "contact": {
            "name": "Sam",
            "phone": "07700 900123",
            "notes": [f"say nothing about {CANARY} on voicemail", {"deep": CANARY}],
        },
        "what_happened": "Shouted at outside Zoë's café",
        "flags": {"discreet": True, "count": 3, "nothing": None},
    }


def base64_fragments(text: str) -> list[str]:
    """The parts of `text`'s base64 that appear whatever its offset in a longer string."""
    raw = text.encode()
    found = []
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"x" * pad + raw).decode()
            found.append(encoded[4 if pad else 0:-4])
    return found


def test_sealed_data_unseals_to_the_same_data() -> None:
    sealer = Sealer([new_key()])

    assert sealer.unseal(sealer.seal(personal_data())) == personal_data()


def test_a_token_unseals_as_bytes_too() -> None:
    sealer = Sealer([new_key()])

    assert sealer.unseal(sealer.seal(personal_data()).encode()) == personal_data()


def test_the_token_does_not_contain_the_plaintext() -> None:
    token = Sealer([new_key()]).seal(personal_data())

    assert CANARY not in token
    assert "07700" not in token
    assert CANARY.encode() not in base64.urlsafe_b64decode(token)


def test_the_token_does_not_contain_the_plaintext_in_base64() -> None:
    token = Sealer([new_key()]).seal(personal_data())

    for fragment in base64_fragments(CANARY):
        assert fragment not in token, fragment


def test_sealing_the_same_data_twice_gives_different_tokens() -> None:
    sealer = Sealer([new_key()])

    assert sealer.seal(personal_data()) != sealer.seal(personal_data())


def tampered(token: str) -> str:
    middle = len(token) // 2
    replacement = "A" if token[middle] != "A" else "B"
    return token[:middle] + replacement + token[middle + 1:]


@pytest.mark.parametrize("spoil", [
    pytest.param(tampered, id="one-character-changed"),
    pytest.param(lambda t: t[:-8], id="truncated"),
    pytest.param(lambda t: t + "AAAA", id="extended"),
    pytest.param(lambda t: "not a token at all", id="garbage"),
    pytest.param(lambda t: "", id="empty"),
])
def test_a_spoiled_token_raises_sealing_error_without_echoing_it(
        spoil: Callable[[str], str]) -> None:
    sealer = Sealer([new_key()])
    token = spoil(sealer.seal(personal_data()))

    with pytest.raises(SealingError) as caught:
        sealer.unseal(token)

    message = str(caught.value)
    assert CANARY not in message
    if token:
        assert token not in message
        assert token[:16] not in message


def test_a_token_sealed_with_another_key_raises_sealing_error() -> None:
    token = Sealer([new_key()]).seal(personal_data())

    with pytest.raises(SealingError) as caught:
        Sealer([new_key()]).unseal(token)

    assert token[:16] not in str(caught.value)


def test_a_sealing_error_hides_the_underlying_crypto_error() -> None:
    with pytest.raises(SealingError) as caught:
        Sealer([new_key()]).unseal("garbage")

    assert caught.value.__suppress_context__ is True
    assert caught.value.__cause__ is None


def test_a_new_key_comes_first_and_the_old_key_still_opens_old_tokens() -> None:
    key_a, key_b = new_key(), new_key()
    old_token = Sealer([key_a]).seal(personal_data())

    assert Sealer([key_b, key_a]).unseal(old_token) == personal_data()


def test_the_first_key_seals() -> None:
    key_a, key_b = new_key(), new_key()

    token = Sealer([key_b, key_a]).seal(personal_data())

    assert Sealer([key_b]).unseal(token) == personal_data()
    with pytest.raises(SealingError):
        Sealer([key_a]).unseal(token)


def test_resealing_moves_a_token_to_the_new_key() -> None:
    key_a, key_b = new_key(), new_key()
    old_token = Sealer([key_a]).seal(personal_data())

    new_token = Sealer([key_b, key_a]).reseal(old_token)

    assert Sealer([key_b]).unseal(new_token) == personal_data()
    with pytest.raises(SealingError):
        Sealer([key_a]).unseal(new_token)


def test_resealing_a_spoiled_token_raises_sealing_error() -> None:
    key_a = new_key()
    token = tampered(Sealer([key_a]).seal(personal_data()))

    with pytest.raises(SealingError) as caught:
        Sealer([new_key(), key_a]).reseal(token)

    assert token not in str(caught.value)


def test_a_sealer_needs_at_least_one_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Sealer([])


def test_a_sealer_refuses_a_key_that_is_not_a_fernet_key() -> None:
    with pytest.raises(ValueError):
        Sealer(["notakey"])


def test_new_keys_are_distinct_fernet_keys() -> None:
    first, second = new_key(), new_key()

    assert first != second
    Fernet(first.encode())  # raises if it is not a valid key
