"""How much of what it was sent an answer repeats: a rejection, a refusal or a note names the value it is about,
so the sender can find it, but never whole when it is long. A 5,000-character target pasted by mistake came back
whole in the rejection outcome, the log line and the published answer; now every such echo shows the value's
first characters and its length. Nothing of Runwarden's is imported: every layer that answers uses it.
"""
from __future__ import annotations

# Enough for any full resource name an answer needs whole (a Cloud Run service's id is "fewer than 50 characters",
# CreateServiceRequest.service_id, google-cloud-run; a project id 6 to 30, Resource Manager "Creating and managing
# projects"), and for a command id (128).
ECHOED = 200


def echoed(value: object, limit: int = ECHOED) -> str:
    """`value` as text, whole up to `limit` characters; longer, its first `limit` and how many there were."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def quoted(value: object, limit: int = ECHOED) -> str:
    """`echoed`, the text in Python's quotes (as `!r` shows it: an invisible character, a trailing space seen)."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"
