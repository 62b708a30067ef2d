"""Whether a rollback target may carry a steady background of 5xx and still be a known-good revision.
Pure, no I/O.

A revision that answered a steady 2 % of 5xx for days (a flaky endpoint, clients' aborted requests
answered 5xx) is a good rollback target for a deploy that fails 40 %: judged at `healthy_error_ratio`
(1 %) it was "failing too", and the deploy was never rolled back. Precision first, a background counts
only when all of these hold, each cited:
- the alert's own bar is read (a share condition `healthy` judges: `health_bar`), and the background is
  under it: a rollback to a revision the alert fires on is no recovery, and with no bar read, the
  settings' clean share stands;
- it is at most `background_error_ratio` (3 % by default), a ceiling a person sets: beyond a few percent
  a "background" is a failure of its own, whatever the alert tolerates;
- it is steady: no higher in the minutes just before the deploy than BACKGROUND_RISE times the hour's
  share (or the clean share, if higher): a share rising before the deploy is a failure that began before
  it, which a rollback brings back. Steadiness is shown, never presumed: minutes too quiet to tell (and a
  wider reading too quiet as well: the rule reads the latter half of the baseline then) refuse the
  background;
- the new revision's share is at least BACKGROUND_FACTOR times the background: the deploy, not the
  background, is what fails the service now.

The bar a background was accepted at travels with the rollback (TargetBackground: the plan, its intent and
its action record keep it), and the verification sweep judges the service back on that revision at it
(`verified_bar`): judged at the clean share, a service back at its usual 2 % was never `healthy`, and each
such rollback was escalated at its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.diagnosis.citation import pct
from shared.diagnosis.signatures import TargetBackground

# The new revision must fail at least this many times the background's share: a rollback then takes away
# at least 90 % of the failures (40 % down to 2 %), so the deploy is what fails the service, not the
# background; a new revision at 5 % over a 2 % background is within what flaky paths and load do.
BACKGROUND_FACTOR = 10
# A share in the minutes just before the deploy more than this many times the hour's is rising: 2 % for the
# hour with 4 % or more at its end is a failure growing before the deploy, not a steady background.
BACKGROUND_RISE = 2.0


@dataclass(frozen=True)
class TargetBar:
    """The failed share at or under which a rollback target served well enough, and why that bar."""

    ratio: float
    why: str = ""               # "" at the settings' clean share; otherwise the background's evidence
    alert_bar: float | None = None  # the alert's own share bar, which the target must stay under
    share: float = 0.0          # the background measured: the target's failed share over the baseline

    def holds(self, failed: float) -> bool:
        return failed <= self.ratio and (self.alert_bar is None or failed < self.alert_bar)

    @property
    def words(self) -> str:
        return f"<= {self.ratio:.0%}" if not self.why else f"<= {pct(self.ratio)} (a steady background: {self.why})"


def target_bar(clean: float, ceiling: float, alert_bar: float | None, hour: float, just_before: float | None,
               new_share: float) -> tuple[TargetBar, str]:
    """The bar a rollback target is judged at, and why a background is not allowed ("" when it is, or
    when the target's share is under the clean share anyway). `hour` is its failed share over the
    baseline before the deploy, `just_before` over the minutes just before it (None: too quiet to
    tell), `new_share` the new revision's since its deploy."""
    plain = TargetBar(clean)
    if hour <= clean:
        return plain, ""
    if alert_bar is None:
        return plain, f"no alert share bar was read to hold a background of {pct(hour)} 5xx to"
    if hour >= alert_bar:
        return plain, f"its {pct(hour)} 5xx is not under the alert's {pct(alert_bar)} bar"
    if hour > ceiling:
        return plain, f"its {pct(hour)} 5xx is over the background ceiling of {pct(ceiling)} (background_error_ratio)"
    if just_before is None:
        return plain, (f"the minutes before the deploy held too few requests to show its {pct(hour)} 5xx steady "
                       "(a share rising into the deploy is not ruled out)")
    if just_before > max(hour * BACKGROUND_RISE, clean):
        return plain, (f"its 5xx rose to {pct(just_before)} just before the deploy from {pct(hour)} over the hour "
                       "(not a steady background)")
    if new_share < hour * BACKGROUND_FACTOR:
        return plain, (f"the new revision's {pct(new_share)} 5xx is under {BACKGROUND_FACTOR} times its background "
                       f"of {pct(hour)}")
    bar = min(ceiling, alert_bar)
    return TargetBar(bar, f"{pct(hour)} before the deploy, under the alert's {pct(alert_bar)} bar and the "
                          f"{pct(ceiling)} ceiling, the new revision at {pct(new_share)}", alert_bar, hour), ""


def background_of(revision: str, bar: TargetBar) -> TargetBackground | None:
    """The background `bar` accepted for the rollback target `revision`, as its records keep it; None at the
    clean share."""
    if not bar.why:
        return None
    return TargetBackground(revision=revision, share=bar.share, ratio=bar.ratio, alert_bar=bar.alert_bar, why=bar.why)


def verified_bar(background: TargetBackground, clean: float, ceiling: float) -> float:
    """The 5xx share at or under which the service, back on the target, is at its background: never above the
    bar it was accepted at, the alert's own bar, nor the background ceiling as set now; and no more than
    BACKGROUND_RISE times the share measured (the steadiness the diagnosis asked of the minutes before the
    deploy: a service at more than twice its background is not back at it, 2 % measured allows 3 % under the
    default ceiling, 1.2 % allows 2.4 %). Never under the clean share."""
    bar = min(background.ratio, ceiling, max(background.share * BACKGROUND_RISE, clean))
    if background.alert_bar is not None:
        bar = min(bar, background.alert_bar)
    return max(bar, clean)
