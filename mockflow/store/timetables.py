"""What a DAG's schedule says about a manual run: its data interval, and which logical dates are
"on schedule" (the set-state endpoints' past/future ranges use that).

A small 5-field cron evaluator (lists, ranges, steps, month and weekday names, the `@` presets)
written for this purpose; DAG time zones other than UTC are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PRESETS = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}
_MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_SEARCH_LIMIT = 200_000  # steps before an expression is declared unsatisfiable (e.g. 30 February)


class CronError(ValueError):
    """An expression mockflow cannot evaluate."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The values a cron field allows; None for `*` (anything)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            first, last = body.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(body, names)
            end = high if step_text else start
        if step < 1 or start < low or end > high or start > end:
            raise CronError(f"invalid cron field {text!r}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    try:
        return int(text)
    except ValueError:
        raise CronError(f"invalid cron value {text!r}") from None


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> Cron:
        fields = PRESETS.get(expression.strip().lower(), expression).split()
        if len(fields) != 5:
            raise CronError(f"not a 5-field cron expression: {expression!r}")
        weekdays = _field(fields[4], 0, 7, _DAYS)
        if weekdays is not None:
            weekdays = frozenset(0 if day == 7 else day for day in weekdays)
        return cls(_field(fields[0], 0, 59), _field(fields[1], 0, 23), _field(fields[2], 1, 31),
                   _field(fields[3], 1, 12, _MONTHS), weekdays)

    def _day_ok(self, when: datetime) -> bool:
        # Cron's rule: when both day fields are restricted, either may match.
        day_ok = self.days is None or when.day in self.days
        weekday_ok = self.weekdays is None or (when.weekday() + 1) % 7 in self.weekdays
        if self.days is not None and self.weekdays is not None:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def matches(self, when: datetime) -> bool:
        return (when.second == 0 and when.microsecond == 0 and _ok(self.months, when.month) and self._day_ok(when)
                and _ok(self.hours, when.hour) and _ok(self.minutes, when.minute))

    def previous(self, when: datetime) -> datetime:
        """The latest tick strictly before `when`."""
        candidate = when.replace(second=0, microsecond=0)
        if candidate == when:
            candidate -= timedelta(minutes=1)
        try:
            return self._search_back(candidate)
        except OverflowError:  # ran past year 1
            raise CronError("the cron expression never fires") from None

    def _search_back(self, candidate: datetime) -> datetime:
        for _ in range(_SEARCH_LIMIT):
            if not _ok(self.months, candidate.month):
                candidate = candidate.replace(day=1, hour=0, minute=0) - timedelta(minutes=1)
            elif not self._day_ok(candidate):
                candidate = candidate.replace(hour=0, minute=0) - timedelta(minutes=1)
            elif not _ok(self.hours, candidate.hour):
                candidate = candidate.replace(minute=0) - timedelta(minutes=1)
            elif not _ok(self.minutes, candidate.minute):
                candidate -= timedelta(minutes=1)
            else:
                return candidate
        raise CronError("the cron expression never fires")

    def at_or_before(self, when: datetime) -> datetime:
        return when if self.matches(when) else self.previous(when)


def _ok(allowed: frozenset[int] | None, value: int) -> bool:
    return allowed is None or value in allowed


# --- schedules ----------------------------------------------------------------------------------

def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)


def schedule_delta(schedule: Any) -> timedelta | None:
    """A TimeDelta schedule as a timedelta (RelativeDelta with only day/time parts too)."""
    if not isinstance(schedule, dict) or schedule.get("__type") not in ("TimeDelta", "RelativeDelta"):
        return None
    if schedule.get("__type") == "RelativeDelta" and (schedule.get("months") or schedule.get("years")):
        return None
    return timedelta(weeks=schedule.get("weeks") or 0, days=schedule.get("days") or 0,
                     hours=schedule.get("hours") or 0, minutes=schedule.get("minutes") or 0,
                     seconds=schedule.get("seconds") or 0, microseconds=schedule.get("microseconds") or 0)


def cron_of(schedule: Any) -> Cron | None:
    """The cron expression of a schedule, or None for `@once`, datasets, timedeltas and no schedule."""
    if not isinstance(schedule, dict) or schedule.get("__type") != "CronExpression":
        return None
    value = str(schedule.get("value") or "")
    if value in ("@once", "Dataset", "@continuous") or not value:
        return None
    try:
        return Cron.parse(value)
    except CronError:
        return None


def manual_data_interval(schedule: Any, logical: datetime) -> tuple[datetime, datetime]:
    """Airflow's `infer_manual_data_interval`: cron -> the last complete interval at or before the
    logical date; timedelta -> [logical - delta, logical]; anything else -> [logical, logical]."""
    logical = _utc(logical)
    cron = cron_of(schedule)
    if cron is not None:
        end = cron.at_or_before(logical)
        return cron.previous(end), end
    delta = schedule_delta(schedule)
    if delta is not None:
        return logical - delta, logical
    if isinstance(schedule, dict) and schedule.get("__type") == "RelativeDelta":
        return _minus_months(logical, schedule), logical
    return logical, logical


def _minus_months(when: datetime, relative: dict[str, Any]) -> datetime:
    months = when.year * 12 + when.month - 1 - int(relative.get("years") or 0) * 12 - int(relative.get("months") or 0)
    year, month = divmod(months, 12)
    day = min(when.day, _month_length(year, month + 1))
    shifted = when.replace(year=year, month=month + 1, day=day)
    return shifted - timedelta(days=relative.get("days") or 0, hours=relative.get("hours") or 0,
                               minutes=relative.get("minutes") or 0, seconds=relative.get("seconds") or 0)


def _month_length(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def kind(schedule: Any) -> str:
    """`periodic` (cron, timedelta), `once` (@once) or `none` (no schedule, datasets): which runs
    a past/future range of the set-state endpoints can reach."""
    if cron_of(schedule) is not None or schedule_delta(schedule) is not None:
        return "periodic"
    if isinstance(schedule, dict) and schedule.get("__type") == "RelativeDelta":
        return "periodic"
    if isinstance(schedule, dict) and schedule.get("value") == "@once":
        return "once"
    return "none"


def on_schedule(schedule: Any, when: datetime, earliest: datetime) -> bool:
    """Whether `when` is a logical date the schedule produces, counting from `earliest`."""
    cron = cron_of(schedule)
    if cron is not None:
        return cron.matches(_utc(when))
    delta = schedule_delta(schedule)
    if delta is not None and delta > timedelta(0):
        return (when - earliest) % delta == timedelta(0)
    return when == earliest
