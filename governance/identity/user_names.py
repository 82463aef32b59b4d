"""What a user name may be: one person, one name.

A name is normalised — Unicode NFKC (fullwidth letters, U+FF41 to U+FF5A, and other
compatibility forms become their ASCII letters), surrounding whitespace stripped, case
folded — and must then match :data:`USER_NAME_PATTERN`: 1 to 64 characters of ASCII
lower-case letters, digits and ``. _ @ -``, beginning with a letter or a digit. Anything
else (a space or a control character inside, an invisible character, a letter from
another script that looks like a Latin one — Cyrillic U+0430 for the a of ``dana``) is
refused with :class:`InvalidInput` saying so: a name that cannot be told apart from
another by eye is not a name.

Every :class:`~governance.identity.principal.Principal` carries its name normalised, so
tokens, the four-eyes rule, revocations by user and the audit log all see one spelling.
Names recorded before this rule (a registrant ``'dana '``) are compared by
:func:`same_user`, which normalises both sides.
"""

from __future__ import annotations

import re
import unicodedata

from governance.errors import InvalidInput

#: The pattern a normalised user name matches (the README's "user names" says the same).
USER_NAME_PATTERN = r"[a-z0-9][a-z0-9._@-]{0,63}"
_NAME = re.compile(USER_NAME_PATTERN)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def user_name(text: str) -> str:
    """``text`` as the one spelling of its user name, or :class:`InvalidInput`."""
    if _NAME.fullmatch(text):  # already spelled so (every token's subject): as is
        return text
    name = _normalised(text)
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{text!r} is not a user name: after Unicode NFKC normalisation, trimming and "
            "lower-casing, a user name is 1 to 64 characters of a-z, 0-9 and . _ @ -, "
            "beginning with a letter or a digit",
            field="user",
        )
    return name


def same_user(a: str, b: str) -> bool:
    """Whether two recorded names are one person's (normalised as :func:`user_name` does;
    names recorded before that rule need not match its pattern)."""
    return _normalised(a) == _normalised(b)
