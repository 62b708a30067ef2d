"""A resend answered from a record of its write names the first answer's status truly: `applied` for a write
made, `escalated` when that write's result was never confirmed (the resend is escalated again), never `applied`
for a write nobody knows took (shared/commands/recovery.first_of). Pure."""
from __future__ import annotations

import pytest

from shared.commands.recovery import first_of
from shared.outcomes import OutcomeStatus


@pytest.mark.parametrize("resent,first", [
    (OutcomeStatus.SKIPPED, OutcomeStatus.APPLIED),
    (OutcomeStatus.ESCALATED, OutcomeStatus.ESCALATED),
])
def test_the_first_status_of_a_recorded_write(resent, first):
    assert first_of(resent) is first
