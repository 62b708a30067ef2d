"""Every free-text field of a command that ends in a record or a label (who asks, why, the action id a restore
looks up, the plan key a release names) refuses a character a person is not shown as itself, naming the field and
the character as U+XXXX: "alice\u200b@example.com" was recorded as alice@example.com reads, an audit record
a reader could not tell from the real one. Letters of any script are kept."""
from __future__ import annotations

import json

import pytest

from shared.alerts.commands import CommandError, parse_command

SERVICE = "projects/p/locations/us-central1/services/backend"
PAUSE = {"command": "pause", "command_id": "x", "requested_by": "alice@example.com", "reason": "INC-7"}
RESTORE = {"command": "restore_traffic", "command_id": "x", "requested_by": "a", "reason": "r", "target": SERVICE}
RELEASE = {"command": "release", "command_id": "x", "requested_by": "a", "reason": "r", "target": SERVICE}

UNSEEN = [
    ("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE, a byte order mark)"),
    ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
    ("\u200c", "U+200C (ZERO WIDTH NON-JOINER)"),
    ("\u200d", "U+200D (ZERO WIDTH JOINER)"),
    ("\u2060", "U+2060 (WORD JOINER)"),
    ("\u00ad", "U+00AD (SOFT HYPHEN)"),
    ("\u200e", "U+200E (LEFT-TO-RIGHT MARK)"),
    ("\u2067", "U+2067 (RIGHT-TO-LEFT ISOLATE)"),
    ("\u2028", "U+2028 (LINE SEPARATOR)"),
    ("\u3164", "U+3164 (HANGUL FILLER)"),
    ("\ufe0f", "U+FE0F (VARIATION SELECTOR-16)"),
    ("\U000e0041", "U+E0041 (TAG LATIN CAPITAL LETTER A)"),
    ("\ue000", "U+E000 (private use)"),
    ("\u2064", "U+2064 (INVISIBLE PLUS)"),
    ("\x1b", "U+001B (ESCAPE)"),
]


def _refusal(fields: dict) -> CommandError:
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps(fields))
    return caught.value


@pytest.mark.parametrize("char, said", UNSEEN, ids=[s.split(" ")[0] for _, s in UNSEEN])
def test_an_unseen_character_in_requested_by_is_refused_naming_the_field_and_the_character(char, said):
    refused = _refusal({**PAUSE, "requested_by": f"ali{char}ce@example.com"})
    assert refused.field == "command.requested_by", refused
    assert f"U+{said.split('U+')[1]} at character 4" in refused.reason, refused.reason


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_byte_order_mark_around_requested_by_is_refused_and_the_name_without_it_offered(where):
    """A principal pasted from a file saved "with BOM" (its first field) or with a zero-width space after it."""
    sent = "\ufeffalice@example.com" if where == "start" else "alice@example.com\u200b"
    refused = _refusal({**PAUSE, "requested_by": sent})
    assert refused.field == "command.requested_by", refused
    assert "without it: 'alice@example.com'" in refused.reason and "nothing was run" in refused.reason, refused.reason


@pytest.mark.parametrize("char, said", UNSEEN[:-1], ids=[s.split(" ")[0] for _, s in UNSEEN[:-1]])
def test_an_unseen_character_in_a_reason_is_refused_naming_it(char, said):
    refused = _refusal({**PAUSE, "reason": f"INC-7{char} fixed"})
    assert refused.field == "command.reason" and f"{said} at character 6" in refused.reason, refused.reason


@pytest.mark.parametrize("fields, field", [
    ({**RESTORE, "params": {"action_id": "a-\u200b1"}}, "command.params.action_id"),
    ({**RESTORE, "params": {"action_id": "\ufeffa-1"}}, "command.params.action_id"),
    ({**RELEASE, "params": {"intent": "0.abc\u200b|123"}}, "command.params.intent"),
    ({"command": "sweep", "requested_by": "sched\u200buler"}, "command.requested_by"),
])
def test_every_free_text_field_ending_in_a_record_or_a_label_refuses_an_unseen_character(fields, field):
    refused = _refusal(fields)
    assert refused.field == field and "U+" in refused.reason, refused.reason


@pytest.mark.parametrize("principal", ["José García", "田中太郎", "Ελένη", "müller@example.de", "ÅSA@EXAMPLE.COM"])
def test_a_principal_in_letters_of_any_script_is_kept(principal):
    assert parse_command(json.dumps({**PAUSE, "requested_by": principal})).requested_by == principal


@pytest.mark.parametrize("reason", ["INC-7:\n\tmigration window\r\n", "fixed ✔️ in backend-00003", "déploiement raté",
                                    "デプロイ失敗", "rolled back 👍"])
def test_a_reason_keeps_line_breaks_letters_and_an_emoji_shown_as_one(reason):
    assert parse_command(json.dumps({**PAUSE, "reason": reason})).reason == reason


@pytest.mark.parametrize("reason", ["نمی\u200cخواهم", "क्\u200dष", "ক্\u200cষ", "family 👨\u200d👩\u200d👧 paged",
                                    "❤️\u200d🔥 on fire"])
def test_a_reason_keeps_the_joiners_a_script_or_an_emoji_sequence_is_written_with(reason):
    """Persian writes ZWNJ inside words, Indic scripts ZWNJ/ZWJ after a virama, an emoji sequence ZWJ between
    symbols: a reason refused them, naming a character its writer had to type."""
    assert parse_command(json.dumps({**PAUSE, "reason": reason})).reason == reason


@pytest.mark.parametrize("fields, field", [({"reason": "rolled\u200c back "}, "reason"),
                                           ({"reason": "\u200dfirst"}, "reason"),
                                           ({"reason": "a \u200c b"}, "reason"),
                                           ({"requested_by": "نمی\u200cخواهم"}, "requested_by"),
                                           ({"requested_by": "ali\u200dce@example.com"}, "requested_by")])
def test_a_joiner_joining_nothing_or_in_a_name_is_still_refused(fields, field):
    refused = _refusal({**PAUSE, **fields})
    assert refused.field == f"command.{field}" and "U+200" in refused.reason, refused.reason


def test_a_principal_made_only_of_unseen_characters_offers_nothing_to_send():
    refused = _refusal({**PAUSE, "requested_by": "\u200b\u200b"})
    assert "(2 such characters in all)" in refused.reason and "without it" not in refused.reason, refused.reason


def test_the_cli_refuses_an_unseen_character_in_as_before_publishing(capsys):
    """`--as "$(cat principal.txt)"`, the file saved with a byte order mark."""
    from cli._commands import build

    with pytest.raises(SystemExit) as exited:
        build("pause", target=None, params={}, reason="r", extra=None, requested_by="\ufeffalice@example.com",
              dry_run=False, expires_in=None, command_id="x")
    assert exited.value.code == 2
    assert "command.requested_by: holds the invisible character U+FEFF" in capsys.readouterr().err


@pytest.mark.parametrize("principal, said", [
    ("\u0430lice@example.com", "U+0430 (CYRILLIC SMALL LETTER A, 'а') at character 1 among Latin letters"),
    ("ali\u0441e@example.com", "U+0441 (CYRILLIC SMALL LETTER ES, 'с') at character 4 among Latin letters"),
    ("b\u03bfb@example.com", "U+03BF (GREEK SMALL LETTER OMICRON, 'ο') at character 2 among Latin letters"),
    ("\uff41lice@example.com", "U+FF41 (FULLWIDTH LATIN SMALL LETTER A, 'ａ') at character 1, which reads as 'a'"),
    ("Jose\u0301", "is not written in Unicode's composed form (NFC): from character 4 it shows as 'José'"),
])
def test_a_principal_that_reads_as_another_is_refused_naming_the_character(principal, said):
    """Every character seen, and still not the text it reads as: a Cyrillic а among Latin letters, a fullwidth
    letter, an accent sent apart from its letter. Recorded, each read as alice@example.com (or José) in the audit
    trail while the operators check compared another string."""
    refused = _refusal({**PAUSE, "requested_by": principal})
    assert refused.field == "command.requested_by" and said in refused.reason, refused.reason


@pytest.mark.parametrize("principal", ["Дмитрий Иванов", "Ελένη Παππά", "Sofía Núñez", "O’Brien", "田中　太郎",
                                       "user:alice@example.com"])
def test_a_principal_in_one_alphabet_is_kept(principal):
    assert parse_command(json.dumps({**PAUSE, "requested_by": principal})).requested_by == principal
