"""WeCom's ``kf_msg_or_event`` callback: crypto, safe XML parsing and their errors.

``CallbackCrypto`` verifies, decrypts and encrypts callbacks (pure, no I/O);
``parse_callback`` reads the decrypted XML into a ``KfCallback``; every failure is
a ``CallbackError`` carrying WeCom's negative code. ``KfBot`` turns callbacks
into typed messages for handlers, and ``KfBot.asgi_app()`` (``callback_app``, a
thin shell over the bot) receives them.
"""

from __future__ import annotations

from .asgi import DEFAULT_REPLAY_WINDOW, CallbackTarget, callback_app
from .bot import (
    DEFAULT_BOT_CONCURRENCY,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_SHUTDOWN_TIMEOUT,
    CallbackTokens,
    ErrorHook,
    KfBot,
)
from .crypto import BLOCK_SIZE, CallbackCrypto
from .errors import (
    CALLBACK_ERROR_CODES,
    AesKeyError,
    Base64DecodeError,
    Base64EncodeError,
    BodyTooLargeError,
    BuildXmlError,
    CallbackError,
    CiphertextLengthError,
    ComputeSignatureError,
    DecryptError,
    EncryptError,
    IllegalBufferError,
    LengthFieldError,
    PaddingError,
    ReceiveIdError,
    SignatureError,
    TimestampError,
    XmlParseError,
)
from .events import (
    KF_ACCOUNT_AUTH_CHANGE,
    KF_MSG_OR_EVENT,
    MAX_CALLBACK_BODY_BYTES,
    Envelope,
    KfCallback,
    parse_callback,
    read_envelope,
)

__all__ = [
    "BLOCK_SIZE",
    "CALLBACK_ERROR_CODES",
    "DEFAULT_BOT_CONCURRENCY",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_REPLAY_WINDOW",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "KF_ACCOUNT_AUTH_CHANGE",
    "KF_MSG_OR_EVENT",
    "MAX_CALLBACK_BODY_BYTES",
    "AesKeyError",
    "Base64DecodeError",
    "Base64EncodeError",
    "BodyTooLargeError",
    "BuildXmlError",
    "CallbackCrypto",
    "CallbackError",
    "CallbackTarget",
    "CallbackTokens",
    "CiphertextLengthError",
    "ComputeSignatureError",
    "DecryptError",
    "EncryptError",
    "Envelope",
    "ErrorHook",
    "IllegalBufferError",
    "KfBot",
    "KfCallback",
    "LengthFieldError",
    "PaddingError",
    "ReceiveIdError",
    "SignatureError",
    "TimestampError",
    "XmlParseError",
    "callback_app",
    "parse_callback",
    "read_envelope",
]
