"""What a user name may be, and that one person has one name: whitespace, case, Unicode
compatibility forms (fullwidth letters, ligatures, no-break spaces) and look-alike letters
from other scripts never make a second identity."""

from __future__ import annotations

import pytest

from governance.errors import FourEyesViolation, InvalidInput
from governance.identity.principal import Principal
from governance.identity.user_names import same_user, user_name
from governance.lifecycle.four_eyes import require_four_eyes

#: Spellings of "dana" that name the same person.
SAME_AS_DANA = [
    "dana",
    "dana ",
    " dana",
    "\tdana\n",
    "Dana",
    "DANA",
    "\uff44\uff41\uff4e\uff41",  # fullwidth
    "\uff24\uff21\uff2e\uff21",
    "dana\u00a0",  # no-break space
    "\u2003dana",  # em space
]
#: Names no token may carry: each says what is wrong.
REFUSED = [
    "",
    "   ",
    "d\u0430na",  # Cyrillic a: looks like "dana", is not
    "\u0501ana",  # Cyrillic komi de
    "dana smith",
    "dana\u200b",  # zero-width space
    "dana\x00",
    "dana\n2",
    "-dana",
    ".dana",
    "da/na",
    "da:na",
    "a" * 65,
    "\u01c6ana",  # NFKC turns the ligature into "d\u017e": not ASCII
]


@pytest.mark.parametrize("spelling", SAME_AS_DANA)
def test_spellings_of_one_name_normalise_to_it(spelling: str) -> None:
    assert user_name(spelling) == "dana"
    assert Principal(spelling, "validator").user == "dana"
    assert same_user(spelling, "dana")


@pytest.mark.parametrize("name", REFUSED)
def test_names_outside_the_pattern_are_refused_with_what_to_fix(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        user_name(name)
    message = str(caught.value)
    assert "user name" in message and "a-z" in message
    assert caught.value.field == "user"
    with pytest.raises(InvalidInput):
        Principal(name, "validator")


@pytest.mark.parametrize(
    "name", ["u", "dana", "dana.smith", "dana_smith", "dana-smith", "dana@st-mary", "d4n4", "0"]
)
def test_conservative_names_are_kept(name: str) -> None:
    assert user_name(name) == name


def test_look_alikes_from_other_scripts_are_not_the_same_user() -> None:
    assert not same_user("d\u0430na", "dana")


class _Version:
    """The two fields the four-eyes rule reads of a version's state."""

    def __init__(self, registrant: str) -> None:
        self.registrant = registrant
        self.model = "m"
        self.version = "1"


@pytest.mark.parametrize("registrant", SAME_AS_DANA)
@pytest.mark.parametrize("approver", ["dana", "DANA ", "\uff44\uff41\uff4e\uff41"])
def test_four_eyes_compares_normalised_names(registrant: str, approver: str) -> None:
    """A registrant recorded before names were normalised (``'dana '``) is the same
    person as the validator ``dana``, whichever spelling either side used."""
    with pytest.raises(FourEyesViolation):
        require_four_eyes(Principal(approver, "validator"), _Version(registrant), "approve")  # type: ignore[arg-type]


def test_four_eyes_lets_another_validator_decide() -> None:
    require_four_eyes(Principal("victor", "validator"), _Version("dana "), "approve")  # type: ignore[arg-type]
