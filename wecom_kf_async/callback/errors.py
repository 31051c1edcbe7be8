"""The callback's exceptions: one class per WeCom callback error code (-40001 to -40011).

WeCom's official callback SDKs number their failures from -40001 to -40011; each
class here keeps its number as ``.code``. A few checks that WeCom lumps under one
number have a subclass of their own (same ``.code``), so a caller can tell, for
example, a bad pad byte (:class:`PaddingError`) from a length field that runs past
the buffer (:class:`LengthFieldError`), both -40008.

:class:`TimestampError` (-40100) is this library's own: WeCom's SDKs do not check
a callback's age, and its codes end at -40011.

No message ever holds the token, the EncodingAESKey, the key bytes or any
decrypted text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from .._errors import KfError

__all__ = [
    "CALLBACK_ERROR_CODES",
    "AesKeyError",
    "Base64DecodeError",
    "Base64EncodeError",
    "BodyTooLargeError",
    "BuildXmlError",
    "CallbackError",
    "CiphertextLengthError",
    "ComputeSignatureError",
    "DecryptError",
    "EncryptError",
    "IllegalBufferError",
    "LengthFieldError",
    "PaddingError",
    "ReceiveIdError",
    "SignatureError",
    "TimestampError",
    "XmlParseError",
]


class CallbackError(KfError):
    """Base class of every callback failure: verification, decryption or parsing.

    ``code`` is WeCom's negative callback error code (-40001 to -40011), or this
    library's own -40100 (:class:`TimestampError`). The message names what failed,
    never a secret or the decrypted text.
    """

    #: WeCom's negative callback error code.
    code: ClassVar[int]


class SignatureError(CallbackError):
    """-40001: ``msg_signature`` does not match the token, timestamp, nonce and payload.

    Also raised for a tampered timestamp or nonce, which are signed.
    """

    code = -40001


class XmlParseError(CallbackError):
    """-40002: the XML is not well formed, lacks a required element, or uses a DTD or
    entities (refused: no XML bombs, no external entities)."""

    code = -40002


class BodyTooLargeError(XmlParseError):
    """-40002: the body is over ``MAX_CALLBACK_BODY_BYTES``; refused before parsing."""


class ComputeSignatureError(CallbackError):
    """-40003: the signature could not be computed (a value that is not valid text)."""

    code = -40003


class AesKeyError(CallbackError, ValueError):
    """-40004: the EncodingAESKey is not 43 characters of ``[a-zA-Z0-9]``.

    Also a ``ValueError``, as every bad argument of this library is.
    """

    code = -40004


class ReceiveIdError(CallbackError):
    """-40005: the receiveid inside the decrypted buffer is not this app's (the corpid)."""

    code = -40005


class EncryptError(CallbackError):
    """-40006: the plaintext could not be encrypted (it is not valid text)."""

    code = -40006


class DecryptError(CallbackError):
    """-40007: the ciphertext could not be decrypted."""

    code = -40007


class CiphertextLengthError(DecryptError):
    """-40007: the ciphertext is empty or not a whole number of 16-byte AES blocks."""


class IllegalBufferError(CallbackError):
    """-40008: the decrypted buffer is not what the protocol lays out."""

    code = -40008


class PaddingError(IllegalBufferError):
    """-40008: a PKCS#7 pad byte outside 1-32, or pad bytes that are not all equal."""


class LengthFieldError(IllegalBufferError):
    """-40008: the 4-byte length field claims more bytes than the buffer holds."""


class Base64EncodeError(CallbackError):
    """-40009: base64 encoding failed (kept for the complete table of codes)."""

    code = -40009


class Base64DecodeError(CallbackError):
    """-40010: the payload (``Encrypt`` or ``echostr``) is not valid base64."""

    code = -40010


class BuildXmlError(CallbackError):
    """-40011: the reply envelope could not be built (kept for the complete table)."""

    code = -40011


class TimestampError(CallbackError):
    """-40100 (this library's code, not WeCom's): a validly signed callback whose
    ``timestamp`` is not a number, or is further from now than the replay window
    (``KfBot(replay_window=...)``): an old request replayed, or a clock far off."""

    code = -40100


#: WeCom's callback error code -> the class that keeps it (the most general one).
CALLBACK_ERROR_CODES: Mapping[int, type[CallbackError]] = MappingProxyType(
    {
        cls.code: cls
        for cls in (
            SignatureError,
            XmlParseError,
            ComputeSignatureError,
            AesKeyError,
            ReceiveIdError,
            EncryptError,
            DecryptError,
            IllegalBufferError,
            Base64EncodeError,
            Base64DecodeError,
            BuildXmlError,
        )
    }
)
