"""``CallbackCrypto``: WeCom's callback signature and AES-256-CBC payload, pure (no I/O).

The protocol (section 6 of the reference, as WeCom's official SDKs implement it):

- ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))`` in
  lowercase hex, compared in constant time;
- ``key = base64decode(EncodingAESKey + "=")`` (43 characters -> 32 bytes),
  AES-256-CBC with ``IV = key[:16]``;
- plaintext = 16 random bytes + the message's length (4 bytes, big-endian) + the
  message (UTF-8) + the receiveid (the corpid), PKCS#7-padded to a multiple of
  **32** bytes (a whole block of 32 when already aligned); ``Encrypt`` is the
  base64 of the ciphertext.

On decryption every field is checked before it is used: a ciphertext that is not
whole AES blocks, a bad pad, a length field past the buffer or a foreign receiveid
raises its own :class:`~wecom_kf_async.callback.errors.CallbackError`, never a
slice of garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import (
    AesKeyError,
    Base64DecodeError,
    CiphertextLengthError,
    ComputeSignatureError,
    EncryptError,
    IllegalBufferError,
    LengthFieldError,
    PaddingError,
    ReceiveIdError,
    SignatureError,
)
from .events import MAX_CALLBACK_BODY_BYTES, read_envelope

__all__ = [
    "BLOCK_SIZE",
    "MAX_CALLBACK_BODY_BYTES",
    "CallbackCrypto",
]

#: The PKCS#7 block size of WeCom's callback payload (twice AES's 16 bytes).
BLOCK_SIZE: Final = 32

_KEY_RE: Final = re.compile(r"[A-Za-z0-9]{43}")
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9]{1,32}")
_NONCE_RE: Final = re.compile(r"[A-Za-z0-9]{1,64}")
_HEADER: Final = 20  # 16 random bytes + the 4-byte length
_LENGTH: Final = struct.Struct(">I")
_HIDDEN: Final = "***"


def _default_nonce() -> str:
    return str(1_000_000_000 + secrets.randbelow(9_000_000_000))


class CallbackCrypto:
    """Verify, decrypt and encrypt WeCom callbacks for one callback URL.

    Args:
        token: The callback's Token (up to 32 letters and digits), as set in the
            WeCom admin console next to the URL.
        encoding_aes_key: The EncodingAESKey: exactly 43 characters of ``[a-zA-Z0-9]``.
        receive_id: The receiveid the payloads must carry: for KF callbacks, the corpid.

    Raises:
        AesKeyError: *encoding_aes_key* is not 43 letters and digits (also a
            ``ValueError``, code -40004).
        ValueError: *token* is empty, over 32 characters or not letters and digits;
            *receive_id* is empty.
        TypeError: an argument is not a str.

    Query parameters (``msg_signature``, ``timestamp``, ``nonce``, ``echostr``) are
    passed **url-decoded**, as an ASGI framework's query parsing gives them. The
    instance is immutable and safe to share between tasks and threads; its repr
    hides the token and the key.

    Example::

        crypto = CallbackCrypto(TOKEN, ENCODING_AES_KEY, CORP_ID)
        signed = (q["msg_signature"], q["timestamp"], q["nonce"])
        answer = crypto.verify_url(*signed, q["echostr"])  # GET
        callback = parse_callback(crypto.decrypt(*signed, body))  # POST
    """

    __slots__ = ("_cipher", "_receive_id", "_receive_id_bytes", "_token")

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        for name, value in (
            ("token", token),
            ("encoding_aes_key", encoding_aes_key),
            ("receive_id", receive_id),
        ):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(
                f"token must be 1 to 32 letters and digits (got {len(token)} characters; "
                "the value is not shown)"
            )
        if not _KEY_RE.fullmatch(encoding_aes_key):
            raise AesKeyError(
                "encoding_aes_key must be exactly 43 characters of [a-zA-Z0-9] "
                f"(got {len(encoding_aes_key)} characters; the value is not shown)"
            )
        if not receive_id:
            raise ValueError("receive_id must not be empty (for KF callbacks: the corpid)")
        try:
            receive_id_bytes = receive_id.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("receive_id must be valid text (it holds a lone surrogate)") from None
        key = base64.b64decode(encoding_aes_key + "=")
        self._token = token
        self._receive_id = receive_id
        self._receive_id_bytes = receive_id_bytes
        # One Cipher per instance; each call takes a fresh encryptor or decryptor from it.
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def __repr__(self) -> str:
        return (
            f"CallbackCrypto(token={_HIDDEN}, encoding_aes_key={_HIDDEN}, "
            f"receive_id={self._receive_id!r})"
        )

    @property
    def receive_id(self) -> str:
        """The receiveid every payload must carry (the corpid)."""
        return self._receive_id

    # -- signature -------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """The ``msg_signature`` of a payload: sha1 hex of the four strings, sorted.

        Args:
            timestamp: The ``timestamp`` query parameter (or ``TimeStamp``).
            nonce: The ``nonce`` query parameter (or ``Nonce``).
            encrypt: The base64 payload (``Encrypt``, or ``echostr``).

        Returns:
            40 lowercase hex digits.

        Raises:
            ComputeSignatureError: a value is not valid text (-40003).
            TypeError: a value is not a str.
        """
        if not (type(timestamp) is str and type(nonce) is str and type(encrypt) is str):
            raise TypeError("timestamp, nonce and encrypt must be str")
        try:
            data = "".join(sorted((self._token, timestamp, nonce, encrypt))).encode("utf-8")
        except UnicodeEncodeError:
            raise ComputeSignatureError("a signed value is not valid text") from None
        # sha1 because the protocol says so; it is compared in constant time.
        return hashlib.sha1(data).hexdigest()  # noqa: S324

    def check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Check *msg_signature* over the token, *timestamp*, *nonce* and *encrypt*.

        Args:
            msg_signature: The ``msg_signature`` query parameter.
            timestamp: The ``timestamp`` query parameter.
            nonce: The ``nonce`` query parameter.
            encrypt: The base64 payload that was signed.

        Raises:
            SignatureError: the signature does not match (-40001), e.g. any of the
                four values was changed.
            ComputeSignatureError: a value is not valid text (-40003).
            TypeError: a value is not a str.
        """
        expected = self.signature(timestamp, nonce, encrypt)
        if not (
            type(msg_signature) is str
            and msg_signature.isascii()
            and hmac.compare_digest(expected, msg_signature)
        ):
            raise SignatureError(
                "msg_signature does not match the token, timestamp, nonce and payload"
            )

    # -- the three calls of the callback ---------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Answer WeCom's URL verification (``GET url?msg_signature&timestamp&nonce&echostr``).

        Args:
            msg_signature: The ``msg_signature`` query parameter, url-decoded.
            timestamp: The ``timestamp`` query parameter, url-decoded.
            nonce: The ``nonce`` query parameter, url-decoded.
            echostr: The ``echostr`` query parameter, url-decoded (base64). Spaces
                are read as ``+``: a query parser that decodes ``+`` to a space
                (``application/x-www-form-urlencoded``) would otherwise break it,
                and base64 has no spaces.

        Returns:
            The decrypted plaintext: answer it as the bare body (no quotes, newline
            or BOM) within 1 s.

        Raises:
            SignatureError: the signature does not match (-40001).
            Base64DecodeError: *echostr* is not base64 (-40010).
            CiphertextLengthError: not whole AES blocks (-40007).
            PaddingError: a bad PKCS#7 pad (-40008).
            LengthFieldError: the length field runs past the buffer (-40008).
            IllegalBufferError: the message is not UTF-8 (-40008).
            ReceiveIdError: the receiveid is not this app's (-40005).
            TypeError: an argument is not a str.
        """
        if type(echostr) is str and " " in echostr:
            echostr = echostr.replace(" ", "+")
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self._open(echostr)

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, body: str | bytes) -> str:
        """Verify and decrypt a POSTed callback; return the decrypted XML.

        Accepts both shapes of body: WeCom's ``<xml><ToUserName/><Encrypt/><AgentID/></xml>``
        and the official SDKs' ``EncryptMsg`` envelope (what :meth:`encrypt` builds).
        Either way the signature checked is the one given here (from the query string).

        Args:
            msg_signature: The ``msg_signature`` query parameter, url-decoded.
            timestamp: The ``timestamp`` query parameter, url-decoded.
            nonce: The ``nonce`` query parameter, url-decoded.
            body: The request body as received (str or bytes).

        Returns:
            The decrypted XML (pass it to :func:`parse_callback`).

        Raises:
            BodyTooLargeError: *body* is over ``MAX_CALLBACK_BODY_BYTES``; not parsed (-40002).
            XmlParseError: *body* is not well-formed, uses a DTD or entities, or has
                no ``Encrypt`` (-40002).
            SignatureError: the signature does not match (-40001).
            Base64DecodeError: ``Encrypt`` is not base64 (-40010).
            CiphertextLengthError: not whole AES blocks (-40007).
            PaddingError: a bad PKCS#7 pad (-40008).
            LengthFieldError: the length field runs past the buffer (-40008).
            IllegalBufferError: the message is not UTF-8 (-40008).
            ReceiveIdError: the receiveid is not this app's (-40005).
            TypeError: an argument has the wrong type.
        """
        encrypt = read_envelope(body).encrypt
        self.check_signature(msg_signature, timestamp, nonce, encrypt)
        return self._open(encrypt)

    def encrypt(
        self, plaintext: str, *, timestamp: str | int | None = None, nonce: str | None = None
    ) -> str:
        """Encrypt and sign *plaintext* into the XML envelope of the official ``EncryptMsg``.

        The result is ``<xml><Encrypt><![CDATA[..]]></Encrypt><MsgSignature><![CDATA[..]]>
        </MsgSignature><TimeStamp>..</TimeStamp><Nonce><![CDATA[..]]></Nonce></xml>``
        (on one line): a passive reply, or a callback body to POST in tests (with the
        same signature, timestamp and nonce in the query string).

        Args:
            plaintext: The XML (or any text) to encrypt; may be empty.
            timestamp: Unix seconds, as an int or a string of digits (default: now).
            nonce: 1 to 64 letters and digits (default: 10 random digits).

        Returns:
            The envelope, as text.

        Raises:
            EncryptError: *plaintext* is not valid text (a lone surrogate) (-40006).
            ValueError: *timestamp* is negative or not digits; *nonce* is not 1 to 64
                letters and digits.
            TypeError: an argument has the wrong type.
        """
        if timestamp is None:
            stamp = str(int(time.time()))
        elif isinstance(timestamp, bool) or not isinstance(timestamp, int | str):
            raise TypeError(f"timestamp must be an int or a str, got {type(timestamp).__name__}")
        else:
            stamp = str(timestamp)
            if not (stamp.isascii() and stamp.isdigit()):
                raise ValueError(f"timestamp must be unix seconds (digits), got {timestamp!r}")
        if nonce is None:
            nonce = _default_nonce()
        elif not isinstance(nonce, str):
            raise TypeError(f"nonce must be a str, got {type(nonce).__name__}")
        elif not _NONCE_RE.fullmatch(nonce):
            raise ValueError(f"nonce must be 1 to 64 letters and digits, got {nonce!r}")
        encrypt = self.encrypt_payload(plaintext)
        signature = self.signature(stamp, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{stamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    # -- the payload -----------------------------------------------------------------

    def encrypt_payload(self, plaintext: str) -> str:
        """Encrypt *plaintext* into a base64 payload (an ``Encrypt`` value, unsigned).

        Each call draws 16 fresh random bytes, so two payloads of one text differ.
        Sign it with :meth:`signature` to build a request WeCom's way.

        Args:
            plaintext: The text to encrypt; may be empty.

        Returns:
            The base64 ciphertext.

        Raises:
            EncryptError: *plaintext* is not valid text (a lone surrogate) (-40006).
            TypeError: *plaintext* is not a str.
        """
        if not isinstance(plaintext, str):
            raise TypeError(f"plaintext must be a str, got {type(plaintext).__name__}")
        try:
            message = plaintext.encode("utf-8")
        except UnicodeEncodeError:
            raise EncryptError("plaintext is not valid text (it holds a lone surrogate)") from None
        if len(message) > 0xFFFFFFFF:
            raise EncryptError("plaintext is over 4 GiB: the length field cannot hold it")
        size = _HEADER + len(message) + len(self._receive_id_bytes)
        pad = BLOCK_SIZE - size % BLOCK_SIZE  # a whole block when already aligned
        buffer = b"".join(
            (
                secrets.token_bytes(16),
                _LENGTH.pack(len(message)),
                message,
                self._receive_id_bytes,
                bytes((pad,)) * pad,
            )
        )
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(buffer) + encryptor.finalize()).decode("ascii")

    def _open(self, encrypt: str) -> str:
        """Decrypt a base64 payload (the signature is checked by the caller)."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise Base64DecodeError("the payload is not valid base64") from None
        size = len(data)
        if size == 0 or size % 16:
            raise CiphertextLengthError(
                f"the ciphertext is {size} bytes: not a whole number of 16-byte AES blocks"
            )
        # CBC over whole blocks: update() returns every byte, finalize() nothing.
        plain = self._cipher.decryptor().update(data)
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or pad > size:
            raise PaddingError(f"bad PKCS#7 pad byte {pad} (must be 1 to {BLOCK_SIZE})")
        end = size - pad
        if plain.count(pad, end) != pad:
            raise PaddingError(f"the {pad} PKCS#7 pad bytes are not all equal to {pad}")
        if end < _HEADER:
            raise LengthFieldError(
                f"the buffer is {end} bytes after unpadding: too short for its 20-byte header"
            )
        (length,) = _LENGTH.unpack_from(plain, 16)
        tail = _HEADER + length
        if tail > end:
            raise LengthFieldError(
                f"the length field says {length} bytes but the buffer holds {end - _HEADER}"
            )
        receive_id = self._receive_id_bytes
        if end - tail != len(receive_id) or not plain.startswith(receive_id, tail):
            raise ReceiveIdError("the payload's receiveid is not this app's receive_id")
        try:
            return str(memoryview(plain)[_HEADER:tail], "utf-8")
        except UnicodeDecodeError:
            raise IllegalBufferError("the decrypted message is not UTF-8") from None
