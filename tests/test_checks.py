"""Argument checks shared by every endpoint: documented limits, refused before any request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wecom_kf_async import KfClient
from wecom_kf_async import _checks as checks
from wecom_kf_async.testing import CUSTOMER_BATCHGET, WeComSimulator


@pytest.mark.parametrize(
    ("check", "limit", "char"),
    [
        (checks.open_kfid, checks.MAX_OPEN_KFID_BYTES, "k"),
        (checks.external_userid, checks.MAX_EXTERNAL_USERID_BYTES, "w"),
        (checks.userid, checks.MAX_USERID_BYTES, "u"),
        (checks.media_id, checks.MAX_MEDIA_ID_BYTES, "m"),
        (checks.cursor, checks.MAX_CURSOR_BYTES, "c"),
        (checks.sync_token, checks.MAX_SYNC_TOKEN_BYTES, "t"),
        (checks.scene, checks.MAX_SCENE_BYTES, "s"),
        (checks.msgid, checks.MAX_MSGID_BYTES, "i"),
    ],
)
def test_exactly_at_the_byte_limit_passes_and_one_byte_over_raises(
    check: Callable[[object, str], object], limit: int, char: str
) -> None:
    """A value of exactly the limit passes; one byte more raises ValueError naming both."""
    assert check(char * limit, "arg") == char * limit
    with pytest.raises(ValueError, match=rf"arg is {limit + 1} bytes long .*limit is {limit}"):
        check(char * (limit + 1), "arg")


def test_limits_count_utf8_bytes_not_characters() -> None:
    """WeCom counts bytes: 22 CJK characters are 66 bytes, over open_kfid's 64."""
    with pytest.raises(ValueError, match="66 bytes"):
        checks.open_kfid("客" * 22)
    assert checks.account_name("客服" * 8) == "客服" * 8  # 16 characters: a name counts characters
    with pytest.raises(ValueError, match="17 characters"):
        checks.account_name("客" * 17)


@pytest.mark.parametrize(
    ("value", "error"),
    [(None, TypeError), (5, TypeError), (b"wm", TypeError), ("", ValueError), ("a b", ValueError)],
)
def test_ids_of_the_wrong_type_or_with_whitespace_are_refused(
    value: object, error: type[Exception]
) -> None:
    """An id must be a non-empty str without whitespace: TypeError or ValueError, named."""
    with pytest.raises(error, match="external_userid"):
        checks.external_userid(value)


def test_scene_and_msgid_take_only_their_documented_characters() -> None:
    """scene and msgid are [0-9a-zA-Z_-]*; anything else is refused with the rule named."""
    assert checks.scene("") == ""
    assert checks.msgid("Ab_0-9") == "Ab_0-9"
    for bad in ("spring sale", "春", "a/b"):
        with pytest.raises(ValueError, match="letters, digits"):
            checks.scene(bad)
    with pytest.raises(ValueError, match="must not be empty"):
        checks.msgid("")


def test_id_lists_refuse_a_bare_string_drop_duplicates_and_count_after() -> None:
    """A str is not a list of ids; duplicates go (first kept) before the length check."""
    with pytest.raises(TypeError, match="userids must be a list"):
        checks.id_list("userids", "zhangsan", checks.userid)
    assert checks.id_list("userids", ["b", "a", "b"], checks.userid) == ["b", "a"]
    assert checks.id_list("ids", ["x"] * 500, checks.userid, max_items=1) == ["x"]
    with pytest.raises(ValueError, match=r"userids\[1\]"):
        checks.id_list("userids", ["ok", ""], checks.userid)
    with pytest.raises(ValueError, match="limit is 2 per call"):
        checks.id_list("ids", ["a", "b", "c"], checks.userid, max_items=2)


async def test_a_10000_character_external_userid_sends_nothing(
    kf: KfClient, sim: WeComSimulator
) -> None:
    """batch_get and get_state refuse an id no WeCom id can be, before any request."""
    huge = "wm" + "x" * 10_000
    with pytest.raises(ValueError, match=r"external_userids\[1\] is 10002 bytes long"):
        await kf.customers.batch_get(["wmA", huge])
    with pytest.raises(ValueError, match="external_userid is 10002 bytes long"):
        await kf.sessions.get_state("wkAccount", huge)
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 0
    assert sum(sim.stats.calls.values()) == 0
