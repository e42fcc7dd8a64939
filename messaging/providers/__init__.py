"""SMS providers (Aliyun, Tencent Cloud): documented request signing over plain HTTP (urllib), no SDK."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from messaging.backends import SmsSendError


def http_post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> dict:
    """POST and decode a JSON answer; network trouble and 5xx are retryable, other HTTP errors are not."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured https URL)
            return json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        try:
            answer = json.loads(detail)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and exc.code < 500:
            return answer  # the provider explains the refusal in the body
        raise SmsSendError(f"HTTP {exc.code}: {detail}", retryable=exc.code >= 500 or exc.code == 429,
                           code=f"http_{exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SmsSendError(f"network error: {exc}", retryable=True, code="network") from None
    except ValueError as exc:
        raise SmsSendError(f"unreadable answer: {exc}", retryable=True, code="bad_answer") from None
