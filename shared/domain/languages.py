"""Languages a person may ask us to use: a fixed list of codes (routing data), never their
own words. A language not on the list is `other`, and what they wrote stays in the sealed
submission; the case then needs an interpreter a supervisor arranges (issue 10).

The codes are the English names in lower case — the officer skills `lang:<code>` that the
roster already uses (`lang:polish`). The list covers the languages most asked for in
England's police interpreting and the 2021 Census main languages in the East of England;
a force extends it here.
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {code: code.replace("_", " ").title() for code in (
    "albanian", "amharic", "arabic", "bengali", "bulgarian", "cantonese", "czech", "dari",
    "farsi", "french", "german", "greek", "gujarati", "hindi", "hungarian", "italian",
    "kurdish", "latvian", "lithuanian", "malayalam", "mandarin", "nepali", "pashto", "polish",
    "portuguese", "punjabi", "romanian", "russian", "slovak", "somali", "spanish", "sylheti",
    "tamil", "tigrinya", "turkish", "twi", "ukrainian", "urdu", "vietnamese", "welsh",
)}
OTHER = "other"
ENGLISH = "english"


def language_code(text: str) -> str | None:
    """The code for a language named by its code or name in any case ('Polish' -> 'polish');
    '' for English or nothing (no need); None when it is not on the list."""
    cleaned = " ".join(str(text or "").split()).lower().replace(" ", "_")
    if cleaned in ("", ENGLISH):
        return ""
    if cleaned == OTHER or cleaned in LANGUAGES:
        return cleaned
    return None


def language_skill(code: str) -> str:
    """The officer skill a language need requires: 'polish' -> 'lang:polish'."""
    return f"lang:{code}"
