"""The resource groups of :class:`~wecom_kf_async.KfClient`, one module each.

Each group is a small class holding the caller it sends through; adding an
endpoint is a row in ``_endpoints.py`` and a method here.
"""

from .accounts import AccountsAPI
from .corp import CorpAPI
from .customers import CustomersAPI
from .ids import IdsAPI, OpenKfidConversion, UnionidConversion
from .knowledge import KnowledgeAPI
from .media import MediaAPI
from .messages import MessagesAPI
from .servicers import ServicersAPI
from .sessions import SessionsAPI
from .statistics import StatisticsAPI

__all__ = [
    "AccountsAPI",
    "CorpAPI",
    "CustomersAPI",
    "IdsAPI",
    "KnowledgeAPI",
    "MediaAPI",
    "MessagesAPI",
    "OpenKfidConversion",
    "ServicersAPI",
    "SessionsAPI",
    "StatisticsAPI",
    "UnionidConversion",
]
