"""The corp's KF qualification (``get_corp_qualification``; the page is unverified)."""

from __future__ import annotations

import attrs

__all__ = ["CorpQualification"]


@attrs.frozen(kw_only=True)
class CorpQualification:
    """What ``kf/get_corp_qualification`` answers.

    The field comes from third-party transcriptions of the official page (not
    verified): ``wechat_channels_binding`` says whether the corp has bound a WeChat
    Channels account (needed for the ``channels*`` message types).
    """

    wechat_channels_binding: bool | None = None
