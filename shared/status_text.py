"""A Google API's error in one line, as a reason, a timeline entry or a log line quotes it: its code, its message
and what its google.rpc details say (the quota's name and limit, the wait asked for, the help link), nothing a
person needs left out.

Why: google-api-core's text of an error is `"{code} {message} {details}"`, the details being the Python list of
the detail messages (GoogleAPICallError.__str__, google/api_core/exceptions.py, google-api-core 2.44), and a
protobuf message's repr is its text format, one field a line: an outcome's reason quoting a refusal spread over a
dozen lines of `reason: "RATE_LIMIT_EXCEEDED"`, `metadata {`, `key: ...`. The details are those google-api-core
unpacks from a gRPC status trailer (exceptions.from_grpc_error, `_parse_grpc_error_details`: BadRequest,
PreconditionFailure, QuotaFailure, ErrorInfo, RetryInfo, ResourceInfo, RequestInfo, DebugInfo, Help,
LocalizedMessage, or the packed Any when it knows no type) or takes as JSON objects from a REST error body
(`format_http_response_error`: the body's `error.details`, each with an "@type"). Their fields are
google/rpc/error_details.proto's; proto3 JSON spells them lowerCamelCase.

Bottom layer, pure: imports nothing from Google (a protobuf message is read by its descriptor and fields).
"""
from __future__ import annotations

from typing import Any

# ErrorInfo metadata keys that name the quota (google/api/error_reason.proto's RATE_LIMIT_EXCEEDED and
# RESOURCE_QUOTA_EXCEEDED examples), said first; the other keys follow in name order.
_QUOTA_KEYS = ("quota_metric", "quota_limit", "quota_limit_value", "quota_location", "quota_unit")


def one_line(error: BaseException) -> str:
    """`error`'s text in one line: for a google-api-core error, "{code} {message}" and then its details in words,
    " (details: ErrorInfo RATE_LIMIT_EXCEEDED ...; QuotaFailure ...; RetryInfo 30s; Help ...)" (or, with none, the
    REST body's `errors`); for any other error its own text, its lines joined, and its `details` if it carries
    google.rpc details as a list."""
    message = getattr(error, "message", None)
    if not isinstance(message, str) or not hasattr(error, "details"):
        # Another error that carries google.rpc details (shared/gcp/vpcaccess.py ApiStatusError: a REST body's,
        # as JSON objects) has them said after its text; a grpc.RpcError's `details` is a method, not these.
        details = getattr(error, "details", None)
        said = details_words(details) if isinstance(details, (list, tuple)) else ""
        return f"{flat(str(error))} (details: {said})" if said else flat(str(error))
    code = getattr(error, "code", None)
    head = flat(f"{code} {message}" if code is not None else message)
    said = details_words(getattr(error, "details", None) or ()) or _errors_words(getattr(error, "errors", None) or ())
    return f"{head} (details: {said})" if said else head


def details_words(details: Any) -> str:
    """google.rpc details, protobuf messages or proto3 JSON objects, in words, one per detail, "; " between."""
    return "; ".join(w for w in (flat(_detail_words(d)) for d in details) if w)


def flat(text: str) -> str:
    """`text`'s non-blank lines joined by a space."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def detail_type(detail: Any) -> str:
    """A detail's short type name ("ErrorInfo"): a JSON object's "@type" after its last "/" and ".", a protobuf
    message's descriptor name (a packed Any: the type its URL names)."""
    if isinstance(detail, dict):
        return str(detail.get("@type", "")).rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    descriptor = getattr(detail, "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", "") or type(detail).__name__
    if name == "google.protobuf.Any":
        return str(getattr(detail, "type_url", "")).rsplit("/", 1)[-1].rsplit(".", 1)[-1] or "Any"
    return name.rsplit(".", 1)[-1]


def field(detail: Any, name: str) -> Any:
    """A detail's field by its proto name: a protobuf message's attribute, or a JSON object's key in proto3 JSON's
    lowerCamelCase (or as named)."""
    if isinstance(detail, dict):
        camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
        return detail.get(camel, detail.get(name))
    return getattr(detail, name, None)


def _detail_words(detail: Any) -> str:
    kind = detail_type(detail)
    words = _WORDS.get(kind)
    if words is not None:
        return words(detail)
    return f"{kind} {_generic(detail)}".strip()


def _error_info(info: Any) -> str:
    metadata = dict(field(info, "metadata") or {})
    keys = [k for k in _QUOTA_KEYS if k in metadata] + sorted(k for k in metadata if k not in _QUOTA_KEYS)
    said = ", ".join(f"{k} {metadata[k]}" for k in keys)
    domain = field(info, "domain") or ""
    return f"ErrorInfo {field(info, 'reason') or ''}{f' ({domain})' if domain else ''}{f': {said}' if said else ''}"


def _quota_failure(failure: Any) -> str:
    violations = []
    for violation in field(failure, "violations") or ():
        named = [str(field(violation, "description") or "")]
        subject = field(violation, "subject")
        if subject:
            named.append(f"subject {subject}")
        for key in ("api_service", "quota_metric", "quota_id", "quota_value", "future_quota_value"):
            value = field(violation, key)
            if value:
                named.append(f"{key} {value}")
        dimensions = dict(field(violation, "quota_dimensions") or {})
        if dimensions:
            named.append("quota_dimensions " + ", ".join(f"{k}={v}" for k, v in sorted(dimensions.items())))
        violations.append(", ".join(n for n in named if n))
    return "QuotaFailure: " + " | ".join(violations)


def _retry_info(info: Any) -> str:
    delay = field(info, "retry_delay")
    if isinstance(delay, str) or delay is None:      # proto3 JSON: a Duration is "30s"
        return f"RetryInfo {delay or ''}".strip()
    return f"RetryInfo {delay.seconds + delay.nanos / 1e9:g}s"


def _help(help_: Any) -> str:
    links = [" ".join(str(s) for s in (field(link, "description"), field(link, "url")) if s)
             for link in field(help_, "links") or ()]
    return "Help: " + " | ".join(links)


def _localized(message: Any) -> str:
    return f"LocalizedMessage ({field(message, 'locale') or ''}): {field(message, 'message') or ''}"


def _debug_info(info: Any) -> str:
    entries = len(list(field(info, "stack_entries") or ()))
    return f"DebugInfo: {field(info, 'detail') or ''}" + (f" ({entries} stack entries not quoted)" if entries else "")


_WORDS = {"ErrorInfo": _error_info, "QuotaFailure": _quota_failure, "RetryInfo": _retry_info, "Help": _help,
          "LocalizedMessage": _localized, "DebugInfo": _debug_info}


def _generic(value: Any) -> str:
    """Any other detail (BadRequest, PreconditionFailure, ResourceInfo, RequestInfo, one of a type google-api-core
    does not know), every field set, nested in braces, on one line."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {_generic(v)}" for k, v in value.items() if k != "@type") + "}"
    list_fields = getattr(value, "ListFields", None)
    if callable(list_fields):
        return "{" + ", ".join(f"{fd.name} {_generic(v)}" for fd, v in list_fields()) + "}"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return value
    if callable(getattr(value, "items", None)):     # a protobuf map field
        return "{" + ", ".join(f"{k} {_generic(v)}" for k, v in sorted(value.items())) + "}"
    try:
        items = list(value)                         # a list, a repeated field (upb's may lack __iter__)
    except TypeError:
        return str(value)
    return "[" + ", ".join(_generic(v) for v in items) + "]"


def _errors_words(errors: Any) -> str:
    """A REST body's `errors` (google-api-core's `errors`, the older JSON error format), when it has no details."""
    said = [f"{e.get('reason', '')}: {e.get('message', '')}".strip(": ") for e in errors if isinstance(e, dict)]
    return "; ".join(flat(s) for s in said if s)
