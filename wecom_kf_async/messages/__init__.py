"""Messages: the send builders, the ``sync_msg`` stream and where it keeps its cursors.

Every public name is also exported from :mod:`wecom_kf_async`.
"""

from .builders import (
    EVENT_MSGTYPES,
    CaLink,
    Click,
    File,
    Image,
    Link,
    Location,
    Menu,
    MenuItem,
    MenuMiniProgram,
    MenuText,
    MiniProgram,
    Sendable,
    Text,
    Video,
    View,
    Voice,
)
from .cursors import (
    CursorLease,
    CursorStore,
    ExclusiveCursorStore,
    FileCursorStore,
    InMemoryCursorStore,
)
from .stream import DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_STALLED_PAGES, MessageStream

__all__ = [
    "DEFAULT_DEDUP_WINDOW",
    "DEFAULT_MAX_STALLED_PAGES",
    "EVENT_MSGTYPES",
    "CaLink",
    "Click",
    "CursorLease",
    "CursorStore",
    "ExclusiveCursorStore",
    "File",
    "FileCursorStore",
    "Image",
    "InMemoryCursorStore",
    "Link",
    "Location",
    "Menu",
    "MenuItem",
    "MenuMiniProgram",
    "MenuText",
    "MessageStream",
    "MiniProgram",
    "Sendable",
    "Text",
    "Video",
    "View",
    "Voice",
]
