"""Frozen data models of WeCom's answers, one module per resource, one converter.

Every model is a frozen attrs class with WeCom's own field names, optional where
WeCom may leave a field out, tolerant of fields it does not know; documented codes
are enums, and undocumented ones stay plain ints. The public names are exported
from :mod:`wecom_kf_async`.
"""

from ._converter import code_or_int, converter, structure
from .corp import CorpQualification
from .customers import (
    BatchGetResult,
    Customer,
    EnterSessionContext,
    WechatChannels,
    as_mapping,
    structure_customers,
)

__all__ = [
    "BatchGetResult",
    "CorpQualification",
    "Customer",
    "EnterSessionContext",
    "WechatChannels",
    "as_mapping",
    "code_or_int",
    "converter",
    "structure",
    "structure_customers",
]
