"""Strip secrets from text before it is printed or logged, by what a secret *is*, not by its length.

Three kinds are matched:
- values seedctl itself read and knows are secret (a BitLocker key from the spec, a storage account
  key from listKeys): `remember()` registers them, `redact()` replaces every occurrence;
- tokens by their shape: bearer tokens, JWTs (`eyJ…` three dot-separated base64url parts), SAS
  signatures (`sig=`), account keys and SAS tokens in connection strings, client secrets in a query
  string or form body;
- BitLocker recovery passwords (8 groups of 6 digits), wherever they come from.

Ordinary paths, URLs, hashes and resource ids stay readable: the old rule "any 40+ base64
characters" mangled them (and a -v traceback is useless when every long path is "(redacted)").
Kept free of SDK imports, so the CLI's error path stays cheap.
"""

from __future__ import annotations

import re
import threading

MASK = "(redacted)"

_known: set[str] = set()
_known_lock = threading.Lock()
# Shorter values could collide with ordinary words; no real key, token or password is this short.
_MIN_KNOWN = 8

_PATTERNS = (
    # BitLocker recovery password
    re.compile(r"\b\d{6}(?:-\d{6}){7}\b"),
    # Authorization: Bearer <token> (also "Basic", "SharedKey account:signature")
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)\bSharedKey(?:Lite)?\s+[^\s:]+:[A-Za-z0-9+/=]+"),
    # a JWT anywhere (access and id tokens, federated workload-identity tokens)
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
)
# name=value pairs whose value is a secret: SAS signature, connection-string keys, OAuth secrets
_PAIRS = re.compile(
    r"(?i)\b(sig|AccountKey|SharedAccessSignature|SharedAccessKey|client_secret|client_assertion|"
    r"access_token|refresh_token|id_token|password)=([^&;\s\"'<>]+)")


def remember(value: str | None) -> None:
    """Register a secret value seedctl has read, so that no message or log can show it."""
    if value and len(value.strip()) >= _MIN_KNOWN:
        with _known_lock:
            _known.add(value.strip())


def redact(text: str) -> str:
    """`text` with every known secret value and every secret-shaped token replaced by (redacted)."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) + " " + MASK) if m.re.groups else MASK, text)
    return _PAIRS.sub(lambda m: f"{m.group(1)}={MASK}", text)
