"""The callback URL's security as WeChat documents it (消息加解密说明):

    signature     = sha1(sorted([token, timestamp, nonce]) joined)                 plain and compatible mode
    msg_signature = sha1(sorted([token, timestamp, nonce, Encrypt]) joined)        safe mode (encrypt_type=aes)
    AESKey        = base64decode(EncodingAESKey + "=")   (32 bytes; the IV is its first 16 bytes)
    Encrypt       = base64(AES-256-CBC(random(16) + len(msg) as 4 bytes big-endian + msg + app id))
                    padded PKCS#7 to a 32-byte block (WeChat's block size, not AES's 16)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class WechatCryptoError(ValueError):
    pass


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode()).hexdigest()


def signature_ok(expected_parts: tuple[str, ...], given: str) -> bool:
    return bool(given) and hmac.compare_digest(signature(*expected_parts), given.lower())


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=")
    except (ValueError, TypeError) as exc:
        raise WechatCryptoError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise WechatCryptoError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    n = data[-1] if data else 0
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise WechatCryptoError("bad padding")
    return data[:-n]


def encrypt(plain: str, *, encoding_aes_key: str, app_id: str, random16: bytes | None = None) -> str:
    key = aes_key(encoding_aes_key)
    body = plain.encode()
    data = _pad((random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode())
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def decrypt(encrypted: str, *, encoding_aes_key: str, app_id: str) -> str:
    key = aes_key(encoding_aes_key)
    try:
        raw = base64.b64decode(encrypted)
    except (ValueError, TypeError) as exc:
        raise WechatCryptoError("Encrypt is not base64") from exc
    if not raw or len(raw) % 16:
        raise WechatCryptoError("Encrypt is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    data = _unpad(decryptor.update(raw) + decryptor.finalize())
    if len(data) < 20:
        raise WechatCryptoError("message too short")
    (length,) = struct.unpack(">I", data[16:20])
    body, from_app = data[20:20 + length], data[20 + length:]
    if len(body) != length:
        raise WechatCryptoError("message length does not match")
    if from_app.decode(errors="replace") != app_id:
        raise WechatCryptoError("the message is for another app id")
    return body.decode()
