"""Type-checked (never run) examples of the callback crypto and parsing (mypy --strict)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from wecom_kf_async.callback import (
    BLOCK_SIZE,
    CALLBACK_ERROR_CODES,
    KF_MSG_OR_EVENT,
    MAX_CALLBACK_BODY_BYTES,
    AesKeyError,
    Base64DecodeError,
    BodyTooLargeError,
    CallbackCrypto,
    CallbackError,
    CiphertextLengthError,
    ComputeSignatureError,
    DecryptError,
    EncryptError,
    Envelope,
    IllegalBufferError,
    KfCallback,
    LengthFieldError,
    PaddingError,
    ReceiveIdError,
    SignatureError,
    XmlParseError,
    parse_callback,
    read_envelope,
)


def build() -> CallbackCrypto:
    try:
        return CallbackCrypto("token123", "k" * 43, "ww0123456789abcdef")
    except AesKeyError as err:
        code: int = err.code
        raise ValueError(code) from err


def answer_get(crypto: CallbackCrypto, query: Mapping[str, str]) -> tuple[int, str]:
    try:
        plaintext: str = crypto.verify_url(
            query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
        )
    except SignatureError:
        return 403, "forbidden"
    except CallbackError as err:
        return 400, f"bad request ({err.code})"
    return 200, plaintext


def answer_post(crypto: CallbackCrypto, query: Mapping[str, str], body: bytes) -> int:
    try:
        xml: str = crypto.decrypt(query["msg_signature"], query["timestamp"], query["nonce"], body)
        callback: KfCallback = parse_callback(xml)
    except BodyTooLargeError:
        return 413
    except (XmlParseError, Base64DecodeError, DecryptError, IllegalBufferError) as err:
        print(type(err).__name__, err.code)
        return 400
    except (SignatureError, ReceiveIdError, ComputeSignatureError):
        return 403
    if callback.is_kf_msg_or_event or callback.event == KF_MSG_OR_EVENT:
        token: str | None = callback.token
        open_kfid: str | None = callback.open_kfid
        when: datetime | None = callback.create_time
        kind: str | None = callback.msg_type
        fields: Mapping[str, str] = callback.raw
        to: str | None = callback.to_user_name
        print(token, open_kfid, when, kind, fields, to)
    return 200


def seal(crypto: CallbackCrypto) -> str:
    envelope_xml: str = crypto.encrypt("<xml/>", timestamp=1_700_000_000, nonce="12345")
    envelope_xml = crypto.encrypt("<xml/>", timestamp="1700000000")
    envelope_xml = crypto.encrypt("")
    envelope: Envelope = read_envelope(envelope_xml)
    encrypt: str = envelope.encrypt
    signature: str | None = envelope.msg_signature
    stamp: str | None = envelope.timestamp
    nonce: str | None = envelope.nonce
    corp: str | None = envelope.to_user_name
    agent: str | None = envelope.agent_id
    print(signature, stamp, nonce, corp, agent)
    payload: str = crypto.encrypt_payload("text")
    sig: str = crypto.signature("1700000000", "12345", payload)
    crypto.check_signature(sig, "1700000000", "12345", payload)
    rid: str = crypto.receive_id
    print(rid, encrypt)
    return envelope_xml


def codes() -> list[int]:
    table: Mapping[int, type[CallbackError]] = CALLBACK_ERROR_CODES
    kinds: list[type[CallbackError]] = [
        CiphertextLengthError,
        PaddingError,
        LengthFieldError,
        EncryptError,
    ]
    return [*table, *(kind.code for kind in kinds), BLOCK_SIZE, MAX_CALLBACK_BODY_BYTES]
