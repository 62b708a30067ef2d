"""A summary's quote of a long line is cut between words, each cut marked "...": the Cloud SQL Admin API's 409
("The instance or operation is not in an appropriate state to handle the request.") was quoted as "... The
instance or operat", a word that is no word. Pure table: the text, where the quote starts, its room, the
latest start the caller keeps -> the quote."""
from __future__ import annotations

import pytest

from shared.diagnosis.excerpts import excerpt

_409 = ("aiohttp.client_exceptions.ClientResponseError: 409, message='The instance or operation is not in an "
        "appropriate state to handle the request.', url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/"
        "instances/i/connectSettings'")

# (text, start, limit, latest) -> quote
ROWS = [
    # Short enough: whole, no mark.
    (("pool exhausted", 0, 160, None), "pool exhausted"),
    (("", 0, 160, None), ""),
    # The end falls inside a word: back to the word before, marked.
    (("The instance or operation is not in an appropriate state", 0, 22, None), "The instance or..."),
    # The end falls on a space, or just after one: the words before, no trailing space.
    (("The instance or operation", 0, 15, None), "The instance or..."),
    (("The instance or operation", 0, 16, None), "The instance or..."),
    # The start falls inside a word: on to the next word, marked.
    (("googleapi: Error 409: The instance", 3, 160, None), "...Error 409: The instance"),
    # The start falls on a word's start or a space: that word, marked.
    (("googleapi: Error 409: The instance", 11, 160, None), "...Error 409: The instance"),
    (("googleapi: Error 409: The instance", 10, 160, None), "...Error 409: The instance"),
    # No space before the latest start the caller keeps: the quote starts there.
    (("xxxxxxxxxxxxxxxxxxxxFATAL: sorry, too many clients already", 5, 160, 20),
     "...FATAL: sorry, too many clients already"),
    # One word longer than the room: cut inside it, marked (the only cut inside a word).
    (("https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i/connectSettings", 0, 30, None),
     "https://sqladmin.googleapis.co..."),
    # Both ends cut: the Admin API's 409 as the Python connector prints it (the start inside the class's name
    # moves on to "409,"; the end inside the URL moves back before it).
    ((_409, 10, 100, None),
     "...409, message='The instance or operation is not in an appropriate state to handle the request.',..."),
    ((_409, 47, 60, None), "...409, message='The instance or operation is not in an..."),
    # A new line counts as a space.
    (("Caused by:\nPG::ConnectionBad: connection to server", 0, 14, None), "Caused by:..."),
]


@pytest.mark.parametrize("given, quote", ROWS, ids=[repr(g[0][:30]) + f"@{g[1]}+{g[2]}" for g, _ in ROWS])
def test_a_quote_is_cut_between_words_and_marked(given, quote):
    assert excerpt(*given) == quote


@pytest.mark.parametrize("given, quote", ROWS, ids=[repr(g[0][:30]) + f"@{g[1]}+{g[2]}" for g, _ in ROWS])
def test_a_quote_holds_no_word_the_line_does_not(given, quote):
    """Every word of the quote, its marks taken off, is a word of the line (or the one long word, cut), but
    for a quote the caller starts inside a word (`latest`)."""
    text, start, limit, latest = given
    body = quote.removeprefix("...").removesuffix("...")
    assert body in text and len(body) <= limit
    words = text.split()
    cut_inside = len(body.split()) == 1 and body not in words
    assert cut_inside or all(word in words for word in body.split()[latest is not None:])
