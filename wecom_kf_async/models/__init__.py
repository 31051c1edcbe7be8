"""Frozen data models of WeCom's answers, one module per resource, one converter.

Every model is a frozen attrs class with WeCom's own field names, optional where
WeCom may leave a field out, tolerant of fields it does not know; documented codes
are enums, and undocumented ones stay plain ints. The public names are exported
from :mod:`wecom_kf_async`.
"""

from ._converter import code_or_int, converter, structure
from .accounts import Account, AddedAccount, ContactWay
from .corp import CorpQualification
from .customers import (
    BatchGetResult,
    ChannelsScene,
    Customer,
    EnterSessionContext,
    Gender,
    WechatChannels,
    as_mapping,
    structure_customers,
)
from .media import MediaType, UploadedMedia
from .servicers import Servicer, ServicerResult, ServicerResults, ServicerStatus, StopType
from .sessions import (
    ALLOWED_TRANSFERS,
    ServiceState,
    SessionState,
    TransferAnswer,
    transfer_allowed,
)
from .statistics import (
    CHINA_TZ,
    CorpMetrics,
    CorpStatistic,
    CorpStatisticAnswer,
    ServicerMetrics,
    ServicerStatistic,
    ServicerStatisticAnswer,
)
from .upgrade import (
    UpgradeGroupChat,
    UpgradeGroupChatRange,
    UpgradeMember,
    UpgradeMemberRange,
    UpgradeServiceConfig,
    UpgradeType,
    upgrade_service_body,
)

__all__ = [
    "ALLOWED_TRANSFERS",
    "CHINA_TZ",
    "Account",
    "AddedAccount",
    "BatchGetResult",
    "ChannelsScene",
    "ContactWay",
    "CorpMetrics",
    "CorpQualification",
    "CorpStatistic",
    "CorpStatisticAnswer",
    "Customer",
    "EnterSessionContext",
    "Gender",
    "MediaType",
    "ServiceState",
    "Servicer",
    "ServicerMetrics",
    "ServicerResult",
    "ServicerResults",
    "ServicerStatistic",
    "ServicerStatisticAnswer",
    "ServicerStatus",
    "SessionState",
    "StopType",
    "TransferAnswer",
    "UpgradeGroupChat",
    "UpgradeGroupChatRange",
    "UpgradeMember",
    "UpgradeMemberRange",
    "UpgradeServiceConfig",
    "UpgradeType",
    "UploadedMedia",
    "WechatChannels",
    "as_mapping",
    "code_or_int",
    "converter",
    "structure",
    "structure_customers",
    "transfer_allowed",
    "upgrade_service_body",
]
