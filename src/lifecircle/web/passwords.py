"""The password policy of accounts, and the strength check of secret keys.

A password must have at least :data:`MIN_PASSWORD_LENGTH` (12) characters and must not be a
common password: not in the list shipped in ``web/data/common_passwords.txt``, not such a
password with digits or symbols added around it, not the account name, and not one character
or a short run (``abcabc…``, ``1234…``) repeated.  Every problem is named, in Chinese and
English.

Examples
--------
>>> password_problems("1234567890")
['密码至少需要 12 个字符 / the password needs at least 12 characters', '密码过于常见，容易被猜中 / the password is too common and easy to guess']
>>> password_problems("Password1234!")
['密码过于常见，容易被猜中 / the password is too common and easy to guess']
>>> password_problems("菜市场 morning 7 点开门")
[]
>>> secret_key_problem("a" * 32)
'the secret key has too few different characters (1; at least 12) to be random'
>>> secret_key_problem("kq2VtR8p0F3xWm9LbZc7Yh1Nd5Gs4Aj6Ue")
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Final

__all__ = [
    "COMMON_PASSWORDS_FILE",
    "MIN_PASSWORD_LENGTH",
    "check_password",
    "common_passwords",
    "password_problems",
    "secret_key_problem",
]

#: Shortest password accepted.
MIN_PASSWORD_LENGTH: Final = 12
#: The shipped list of common passwords (one a line, lower case, ``#`` comments).
COMMON_PASSWORDS_FILE: Final = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
#: Fewest different characters in a secret key accepted in production.
MIN_SECRET_DISTINCT: Final = 12

_TOO_SHORT: Final = (
    f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符 / "
    f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
)
_COMMON: Final = "密码过于常见，容易被猜中 / the password is too common and easy to guess"
_NAME: Final = "密码不能包含账户名 / the password must not contain the account name"
_SEQUENCES: Final = (
    "0123456789012345678901234567890",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiop",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    lines = COMMON_PASSWORDS_FILE.read_text("utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _is_common(password: str) -> bool:
    text = password.lower()
    common = common_passwords()
    if text in common:
        return True
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", text)  # a common word with digits/symbols around
    if core and (core in common or len(core) < 4):
        return True
    compact = re.sub(r"[\W_]+", "", text)
    if compact in common:
        return True
    for unit in range(1, 5):  # one character, or a short run, repeated
        if len(text) >= 2 * unit and text == (text[:unit] * len(text))[: len(text)]:
            return True
    return any(compact in seq or compact in seq[::-1] for seq in _SEQUENCES)


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Everything wrong with a password (an empty list when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_TOO_SHORT)
    if _is_common(password):
        problems.append(_COMMON)
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append(_NAME)
    return problems


def check_password(password: str, username: str | None = None, *, field: str = "password") -> None:
    """Raise :class:`lifecircle.errors.InputError` naming every problem of a password."""
    from lifecircle.errors import Problems

    found = Problems()
    for problem in password_problems(password, username):
        found.add(
            problem,
            field=field,
            fix="用 12 个以上字符、不常见的一句话或随机密码 / use 12 or more characters: an "
            "uncommon phrase or a random password",
        )
    found.raise_if_any(field)


def secret_key_problem(key: str) -> str | None:
    """Why a secret key is too weak for production (``None`` when it is fine)."""
    distinct = len(set(key))
    if distinct < MIN_SECRET_DISTINCT:
        return (
            f"the secret key has too few different characters ({distinct}; at least "
            f"{MIN_SECRET_DISTINCT}) to be random"
        )
    if max(key.count(ch) for ch in set(key)) > len(key) // 4:
        return "one character makes up more than a quarter of the secret key: it is not random"
    if _is_common(key):
        return "the secret key is a common password or a simple sequence"
    return None
