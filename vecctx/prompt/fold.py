"""What text reads as: the fold that finds retrieved text imitating a prompt's structure.

:func:`fold` applies NFKC (full-width, mathematical, superscript, subscript, circled and other
compatibility forms become plain letters, digits and brackets; ligatures expand), then maps the
look-alikes NFKC keeps apart (Cyrillic, Greek, Armenian, Cherokee and Lisu letters and Latin
small capitals that look like Latin letters; angle brackets, slashes, square brackets, dashes
and commas that look like the ASCII ones; circled digits without a compatibility form) to what
they look like, drops default-ignorable characters (zero-width characters, soft hyphen, bidi
controls, variation selectors, tag characters) and lower-cases.

Only the characters that could close a tag or form a marker are ever folded
(:mod:`vecctx.prompt.escape`, :mod:`vecctx.prompt.citations`); ordinary text is never rewritten.
ASCII characters are not folded into one another (``0`` stays ``0``, ``rn`` stays ``rn``).
"""

from __future__ import annotations

import re
import unicodedata

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties): characters that render as nothing.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
IGNORABLE = "".join(f"{chr(lo)}-{chr(hi)}" if hi > lo else chr(lo) for lo, hi in _IGNORABLE_RANGES)
"""The default-ignorable characters, as the body of a regex character class."""

# What each look-alike reads as, for the look-alikes NFKC leaves alone (confusables of Unicode
# TR39 for the Latin letters, the brackets, slashes and separators that prompts use).
_LOOKALIKES = {
    "a": "\u0430\u0410\u0251\u03b1\u0391\u1d00\u237a\u13aa\ua4ee",
    "b": "\u0412\u0392\u0184\u042c\u0299\u13f4\ua4d0\u15af",
    "c": "\u0441\u0421\u03c2\u1d04\u2ca5\u2ca4\u13df\ua4da\uabaf",
    "d": "\u0501\u146f\ua4d2\u13a0\u1d05",
    "e": "\u0435\u0415\u04bd\u0395\u212e\u13ac\ua4f0\u1d07\uab32",
    "f": "\u03dc\ua4dd\ua798\ua799",
    "g": "\u0261\u0581\u13c0\u050c\ua4d6\u0262",
    "h": "\u04bb\u04ba\u0570\u041d\u0397\u13bb\ua4e7\u029c",
    "i": "\u0456\u0406\u0131\u0269\u03b9\u0399\u04cf\u04c0\ua647\u13a5\ua4f2\u026a",
    "j": "\u0458\u0408\u03f3\u037f\u13ab\ua4d9\u1d0a",
    "k": "\u043a\u041a\u03ba\u039a\u13e6\ua4d7\u1d0b\u2c94",
    "l": "\u01c0\u05c0\u13de\ua4e1\u029f",
    "m": "\u041c\u043c\u039c\u13b7\ua4df\u1d0d\u03fa",
    "n": "\u0578\u057c\u039d\u0274\ua4e0\u2c9a",
    "o": "\u043e\u041e\u03bf\u039f\u0585\u0555\u03c3\u1d0f\u2c9f\u2c9e\ua4f3\u12d0\u101d",
    "p": "\u0440\u0420\u03c1\u03a1\u2ca3\u2ca2\u13e2\ua4d1\u1d18",
    "q": "\u051b\u051a\u0563\u0566",
    "r": "\u0433\u1d26\u2c85\u13a1\ua4e3\u0280\uab47\uab81",
    "s": "\u0455\u0405\ua731\u01bd\u13da\ua4e2\uabaa\u10bd",
    "t": "\u0442\u0422\u03c4\u03a4\u13a2\ua4d4\u1d1b\u2ca6",
    "u": "\u057d\u054d\u03c5\u028b\u1d1c\ua4f4\uab4e",
    "v": "\u03bd\u0475\u0474\u1d20\u13d9\ua4e6",
    "w": "\u051d\u051c\u0461\u1d21\u13b3\ua4ea",
    "x": "\u0445\u0425\u03c7\u03a7\u00d7\u2573\u2cad\ua4eb\u166e",
    "y": "\u0443\u0423\u04af\u04ae\u03b3\u03a5\u028f\u10e7\u13a9\ua4ec",
    "z": "\u1d22\u0396\u13c3\ua4dc\uab93",
    "<": "\u2039\u02c2\u1438\u16b2\u276e\u276c\u3008\u27e8\u29fc\u227a",
    "/": "\u2044\u2215\u29f8\u2571\u1735\u27cb\u3033",
    "[": "\u3010\u3014\u3016\u3018\u301a\u27e6\u2045\u298b\u298d\u298f",
    "]": "\u3011\u3015\u3017\u3019\u301b\u27e7\u2046\u298c\u298e\u2990",
    "-": "\u2010\u2012\u2013\u2014\u2015\u2212\u2043\u02d7",
    ",": "\u3001\u201a\u060c",
    ":": "\u2236\u0589",
    "^": "\u02c4\u02c6",
}
# Circled digits that have no compatibility form (dingbats, double and negative circled).
_NUMBERS = "".join(map(chr, (*range(0x2776, 0x2794), *range(0x24EB, 0x2500))))
# Compatibility forms whose NFKC is a bracket above (vertical, small and full-width forms).
_COMPAT_BRACKETS = (
    "\uff1c\ufe64\u2329\ufe3f\uff3b\ufe47\uff3d\ufe48\ufe5d\ufe5e\ufe39\ufe3a\ufe3b\ufe3c\ufe17\ufe18"
)

_TABLE: dict[int, str] = {
    **{ord(ch): target for target, chars in _LOOKALIKES.items() for ch in chars},
    **{ord(ch): str(int(unicodedata.numeric(ch))) for ch in _NUMBERS},
    **{cp: "" for lo, hi in _IGNORABLE_RANGES for cp in range(lo, hi + 1)},
}


def fold(text: str) -> str:
    """What ``text`` reads as (see the module docstring)."""
    return unicodedata.normalize("NFKC", text).translate(_TABLE).lower()


def chars_reading_as(target: str) -> str:
    """The characters whose fold is ``target`` (a single ASCII character), as the body of a
    regex character class."""
    candidates = target + "".join(_LOOKALIKES.values()) + _COMPAT_BRACKETS
    return "".join(re.escape(ch) for ch in dict.fromkeys(candidates) if fold(ch) == target)


__all__ = ["IGNORABLE", "chars_reading_as", "fold"]
