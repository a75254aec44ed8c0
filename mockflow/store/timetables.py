"""Airflow 2.5's timetables, evaluated with croniter as Airflow evaluates them: the data interval of a
manual run, the next scheduled run of a DAG (`DAG.next_dagrun_info`), and which logical dates are
"on schedule" (the set-state endpoints' past/future ranges use that).

Cron expressions are read in the DAG's time zone (`zoneinfo`, which holds the same tz database as
pendulum). Like Airflow's `CronMixin`, a schedule "fixed" to a wall-clock time (the next two ticks
share hour and minute, e.g. `0 2 * * *`) stays on that wall-clock time across DST changes, while
any other (e.g. `0 * * * *`) keeps its spacing in elapsed time. A local time that a DST change
skips is moved forward, and one it repeats is read as the later one (pendulum's
`POST_TRANSITION`, which Airflow's `make_aware` asks for).
"""

from __future__ import annotations

import abc
import functools
import re
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as fixed_zone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from dateutil.relativedelta import relativedelta

from mockflow.values import value_class

# Airflow's `cron_presets` (croniter knows a few more `@` words; Airflow passes them through).
PRESETS = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *", "@midnight": "0 0 * * *", "@annually": "0 0 1 1 *",
}
_NOT_CRON = frozenset({"@once", "Dataset", "@continuous", ""})
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_FIXED_PROBE = datetime(2001, 1, 1)  # where the "fixed schedule" check starts (Airflow: the current time)
_RELATIVE_STEPS = 100_000  # months from the first run a range may span
_TIMEZONE_REPR = re.compile(r"^\s*Timezone\('([^']*)'\)\s*$")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


class CronError(ValueError):
    """An expression mockflow cannot evaluate."""


@value_class(frozen=True, slots=True)
class DataInterval:
    start: datetime
    end: datetime


@value_class(frozen=True, slots=True)
class RunInfo:
    """`DagRunInfo`: the next scheduled run's logical date and interval, and when it may be created."""

    logical_date: datetime
    interval: DataInterval
    run_after: datetime


@value_class(frozen=True, slots=True)
class Restriction:
    """`TimeRestriction`: the DAG's (and its tasks') start and end dates, and catchup."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


# --- time zones ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def zone(name: str | None) -> tzinfo:
    """A DAG's time zone from its name or the repr the API shows (`Timezone('Europe/Amsterdam')`,
    `Timezone('+01:00')`); UTC for none or an unknown one."""
    text = (name or "UTC").strip()
    matched = _TIMEZONE_REPR.match(text)
    text = matched.group(1) if matched else text
    offset = _OFFSET.match(text)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        return fixed_zone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """A local wall-clock time made aware as pendulum's POST_TRANSITION rule does: a repeated time
    is the later one, a skipped time moves forward by the gap."""
    later = naive.replace(tzinfo=tz, fold=1)
    if later.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return later
    return naive.replace(tzinfo=tz, fold=0)  # skipped: fold 0 reads it with the offset before the gap


def _utc(when: datetime) -> datetime:
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC)


# --- cron ---------------------------------------------------------------------------------------------------

@value_class(frozen=True, slots=True)
class Cron:
    """A cron expression in a time zone; every answer is an aware UTC datetime."""

    expression: str
    tz: tzinfo = UTC
    fixed: bool = True

    @classmethod
    def parse(cls, expression: str, tz: tzinfo = UTC) -> Cron:
        text = PRESETS.get(expression.strip(), expression.strip())
        try:
            probe = croniter(text, _FIXED_PROBE)
            first, second = probe.get_next(datetime), probe.get_next(datetime)
        except (CroniterError, ValueError, KeyError) as error:
            raise CronError(f"invalid cron expression {expression!r}: {error}") from None
        return cls(text, tz, (first.hour, first.minute) == (second.hour, second.minute))

    def _naive(self, when: datetime) -> datetime:
        return _utc(when).astimezone(self.tz).replace(tzinfo=None)

    def _tick(self, when: datetime, forward: bool) -> datetime:
        naive = self._naive(when)
        try:
            cron = croniter(self.expression, naive)
            tick: datetime = cron.get_next(datetime) if forward else cron.get_prev(datetime)
        except (CroniterError, ValueError, OverflowError):
            raise CronError("the cron expression never fires") from None
        if self.fixed:
            return localize(tick, self.tz).astimezone(UTC)
        # Not fixed: the same distance from `when` as croniter found on the wall clock, added in
        # elapsed time (pendulum adds a timedelta so), which keeps an hourly schedule hourly.
        return _utc(when) + (tick - naive)

    def next(self, when: datetime) -> datetime:
        """The first tick strictly after `when`."""
        return self._tick(when, forward=True)

    def previous(self, when: datetime) -> datetime:
        """The latest tick strictly before `when`."""
        return self._tick(when, forward=False)

    def matches(self, when: datetime) -> bool:
        return self.at_or_before(when) == _utc(when)

    def at_or_before(self, when: datetime) -> datetime:
        """`_align_to_prev`: `when` itself when the tick before it leads back to it, else that tick."""
        before = self.previous(when)
        return _utc(when) if self.next(before) == _utc(when) else before

    def at_or_after(self, when: datetime) -> datetime:
        """`_align_to_next`: `when` itself when the tick after it leads back to it, else that tick."""
        after = self.next(when)
        return _utc(when) if self.previous(after) == _utc(when) else after


# --- timetables ----------------------------------------------------------------------------------------------

class Timetable:
    """`NullTimetable` (no schedule, and the base): never schedules; a manual run's interval is
    its logical date."""

    periodic = False
    schedules = False  # whether it ever makes a scheduled run

    def next_run(self, last: DataInterval | None, restriction: Restriction, now: datetime) -> RunInfo | None:
        return None

    def manual_interval(self, run_after: datetime) -> DataInterval:
        return DataInterval(_utc(run_after), _utc(run_after))

    def automated_interval(self, logical: datetime) -> DataInterval:
        """`infer_automated_data_interval`: for a run that lacks its own interval."""
        return DataInterval(_utc(logical), _utc(logical))


class OnceTimetable(Timetable):
    """`@once`: one run at the DAG's start date, whatever catchup says."""

    schedules = True

    def next_run(self, last: DataInterval | None, restriction: Restriction, now: datetime) -> RunInfo | None:
        earliest = restriction.earliest
        if last is not None or earliest is None or (restriction.latest is not None and earliest > restriction.latest):
            return None
        return RunInfo(earliest, DataInterval(earliest, earliest), earliest)


class _IntervalTimetable(Timetable, abc.ABC):
    """`_DataIntervalTimetable`: a run at the end of each interval. A cron or a delta says where
    intervals start and end (the abstract methods)."""

    periodic = True
    schedules = True

    @abc.abstractmethod
    def _next(self, when: datetime) -> datetime: ...

    @abc.abstractmethod
    def _previous(self, when: datetime) -> datetime: ...

    def _align_next(self, when: datetime) -> datetime:
        return when

    def _align_previous(self, when: datetime) -> datetime:
        return when

    @abc.abstractmethod
    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime: ...

    def next_run(self, last: DataInterval | None, restriction: Restriction, now: datetime) -> RunInfo | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            earliest = self._skip_to_latest(earliest, now)
        elif earliest is not None:
            earliest = self._align_next(earliest)
        if last is None:
            if earliest is None:
                return None
            start = earliest
        else:
            aligned = self._align_previous(last.end)
            start = aligned if earliest is None else max(aligned, earliest)
        if restriction.latest is not None and start > restriction.latest:
            return None
        end = self._next(start)
        return RunInfo(start, DataInterval(start, end), end)

    def automated_interval(self, logical: datetime) -> DataInterval:
        return DataInterval(_utc(logical), self._next(_utc(logical)))


class CronTimetable(_IntervalTimetable):
    """`CronDataIntervalTimetable`."""

    def __init__(self, cron: Cron) -> None:
        self.cron = cron

    def _next(self, when: datetime) -> datetime:
        return self.cron.next(when)

    def _previous(self, when: datetime) -> datetime:
        return self.cron.previous(when)

    def _align_next(self, when: datetime) -> datetime:
        return self.cron.at_or_after(when)

    def _align_previous(self, when: datetime) -> datetime:
        return self.cron.at_or_before(when)

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        # The interval that ended last, or the one that starts now when `now` is a tick.
        last_start = self.cron.previous(now)
        newest = last_start if self.cron.next(last_start) == now else self.cron.previous(last_start)
        return newest if earliest is None else max(newest, self._align_next(earliest))

    def manual_interval(self, run_after: datetime) -> DataInterval:
        end = self.cron.at_or_before(run_after)
        return DataInterval(self.cron.previous(end), end)


class DeltaTimetable(_IntervalTimetable):
    """`DeltaDataIntervalTimetable`: a timedelta or a relativedelta, added in UTC."""

    def __init__(self, delta: timedelta | relativedelta) -> None:
        self.delta = delta

    def _next(self, when: datetime) -> datetime:
        return _utc(when + self.delta)

    def _previous(self, when: datetime) -> datetime:
        return _utc(when - self.delta)

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        newest = self._previous(now)
        return newest if earliest is None else max(newest, earliest)

    def manual_interval(self, run_after: datetime) -> DataInterval:
        return DataInterval(self._previous(run_after), _utc(run_after))


def _delta_of(schedule: dict[str, Any]) -> timedelta | relativedelta | None:
    def part(name: str) -> float:
        return float(schedule.get(name) or 0)

    if schedule.get("__type") == "TimeDelta":
        return timedelta(weeks=part("weeks"), days=part("days"), hours=part("hours"), minutes=part("minutes"),
                         seconds=part("seconds"), microseconds=part("microseconds"))
    if schedule.get("__type") != "RelativeDelta":
        return None
    return relativedelta(years=int(part("years")), months=int(part("months")), weeks=int(part("weeks")),
                         days=int(part("days")), hours=int(part("hours")), minutes=int(part("minutes")),
                         seconds=int(part("seconds")), microseconds=int(part("microseconds")))


def timetable_of(schedule: Any, timezone: str | None = None) -> Timetable:
    """The timetable of a DAG's `schedule_interval` (as the API shows it) in its time zone."""
    if not isinstance(schedule, dict):
        return Timetable()
    delta = _delta_of(schedule)
    if delta is not None:
        # Airflow refuses a schedule that does not move forward (`AirflowTimetableInvalid`)
        return DeltaTimetable(delta) if _EPOCH + delta > _EPOCH else Timetable()
    if schedule.get("__type") != "CronExpression":
        return Timetable()
    value = str(schedule.get("value") or "")
    if value == "@once":
        return OnceTimetable()
    if value in _NOT_CRON:
        return Timetable()
    try:
        return CronTimetable(_cron(value, timezone))
    except CronError:
        return Timetable()


@functools.lru_cache(maxsize=1024)
def _cron(value: str, timezone: str | None) -> Cron:
    return Cron.parse(value, zone(timezone))


# --- what the store's endpoints ask -------------------------------------------------------------------------

def schedule_delta(schedule: Any) -> timedelta | None:
    """A TimeDelta schedule as a timedelta."""
    delta = _delta_of(schedule) if isinstance(schedule, dict) else None
    return delta if isinstance(delta, timedelta) else None


def manual_data_interval(schedule: Any, logical: datetime, timezone: str | None = None) -> tuple[datetime, datetime]:
    """Airflow's `infer_manual_data_interval`: cron -> the last complete interval at or before the
    logical date; a delta -> [logical - delta, logical]; anything else -> [logical, logical]."""
    interval = timetable_of(schedule, timezone).manual_interval(logical)
    return interval.start, interval.end


def kind(schedule: Any) -> str:
    """`periodic` (cron, deltas), `once` (@once) or `none` (no schedule, datasets): which runs a
    past/future range of the set-state endpoints can reach."""
    timetable = timetable_of(schedule)
    if timetable.periodic:
        return "periodic"
    return "once" if isinstance(timetable, OnceTimetable) else "none"


def on_schedule(schedule: Any, when: datetime, earliest: datetime, timezone: str | None = None) -> bool:
    """Whether `when` is a logical date the schedule produces, counting from `earliest`."""
    timetable = timetable_of(schedule, timezone)
    if isinstance(timetable, CronTimetable):
        return timetable.cron.matches(when)
    if isinstance(timetable, DeltaTimetable) and isinstance(timetable.delta, timedelta):
        return timetable.delta > timedelta(0) and (_utc(when) - _utc(earliest)) % timetable.delta == timedelta(0)
    if isinstance(timetable, DeltaTimetable):
        return _on_relative_schedule(timetable, _utc(when), _utc(earliest))
    return _utc(when) == _utc(earliest)


def _on_relative_schedule(timetable: DeltaTimetable, when: datetime, earliest: datetime) -> bool:
    at = earliest
    for _ in range(_RELATIVE_STEPS):
        if at >= when:
            return at == when
        at = timetable._next(at)
    return False
