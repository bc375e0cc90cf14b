"""HRS007: AWS Backup's jobs start clear of the databases' backup and maintenance windows.

AWS Backup does not start a backup of an RDS instance during, or within an hour before, the
instance's automated backup window or its maintenance window: a job whose start window falls
there starts late or is skipped, and the daily recovery point the plan promises is missing.
Each backup plan rule's schedule and ``start_window`` (minutes; the provider's default 60) are
compared, over a whole week, with the windows of every primary RDS instance of the same
account and region (read replicas have no backup window of their own).
"""

from __future__ import annotations

import re

from ...config.aws_rules import DAYS, WEEK, _daily, _intervals, _weekly
from .base import Resource, Result, Stacks

ID = "HRS007"
TITLE = "AWS Backup jobs start clear of the database's backup and maintenance windows"
SEVERITY = "MEDIUM"
AWS = """AWS Backup does not start an RDS backup job within one hour before, or during, the DB
instance's automated backup window or maintenance window; such jobs start late or are skipped."""
DOC = "https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-a-backup-plan.html"
MARGIN = 60  # minutes before a window in which AWS Backup does not start
DEFAULT_START_WINDOW = 60  # the provider's default for rule.start_window
CRON_DAYS = {"SUN": 6, "MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5,
             "1": 6, "2": 0, "3": 1, "4": 2, "5": 3, "6": 4, "7": 5}


def starts(schedule: str) -> list[int] | None:
    """Minutes of the week (Monday 00:00 = 0) at which a cron(...) schedule fires; None for a
    form this rule cannot evaluate (day-of-month, month or year restrictions, ranges, steps)."""
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", schedule.strip())
    if not match:
        return None
    minute, hour, dom, month, dow, year = match.groups()
    if dom not in ("*", "?") or month != "*" or year not in ("*", "?"):
        return None
    try:
        minutes = [int(m) for m in minute.split(",")]
        hours = [int(h) for h in hour.split(",")]
        days = list(range(7)) if dow in ("*", "?") else [CRON_DAYS[d.upper()]
                                                           for d in dow.split(",")]
    except (ValueError, KeyError):
        return None
    return sorted(d * 1440 + h * 60 + m for d in days for h in hours for m in minutes)


def forbidden(db: Resource) -> list[tuple[int, int, str]]:
    """Half-open minute-of-week intervals where no job may start, with what they are."""
    out = []
    daily = _daily(str(db.body.get("backup_window", "")))
    if daily:
        for day in range(7):
            for s, e in _intervals(*daily, 1440):
                out.append((day * 1440 + s, day * 1440 + e, "backup window "
                            + db.body["backup_window"]))
    weekly = _weekly(str(db.body.get("maintenance_window", "")).lower())
    if weekly:
        out += [(s, e, "maintenance window " + db.body["maintenance_window"])
                for s, e in _intervals(*weekly, WEEK)]
    # widen each by the margin before it (wrapping around the week)
    return [(s - MARGIN, e, what) for s, e, what in out]


def _clash(start: int, length: int, windows: list[tuple[int, int, str]]) -> str | None:
    for ws, we, what in windows:
        for shift in (-WEEK, 0, WEEK):
            if start < we + shift and ws + shift < start + length:
                return what
    return None


def _when(minute: int) -> str:
    day, rest = divmod(minute % WEEK, 1440)
    return f"{DAYS[day]} {rest // 60:02d}:{rest % 60:02d} UTC"


def check(stacks: Stacks) -> Result:
    result = Result()
    dbs = [d for d in stacks.resources("aws_db_instance")
           if "replicate_source_db" not in d.body]
    for plan in stacks.resources("aws_backup_plan"):
        mine = [d for d in dbs if (d.universe, d.account, d.region)
                == (plan.universe, plan.account, plan.region)]
        for rule in plan.body.get("rule") or []:
            schedule = str(rule.get("schedule", ""))
            times = starts(schedule)
            result.checked += 1
            if times is None:
                result.findings.append(plan.finding(
                    ID, f"rule {rule.get('rule_name')!r}: the schedule {schedule!r} is not a "
                        "form this rule can evaluate (minutes and hours, optional days of the "
                        "week)", "write it as cron(M H ? * DAYS *) or cron(M H * * ? *)"))
                continue
            length = int(rule.get("start_window") or DEFAULT_START_WINDOW)
            for db in mine:
                windows = forbidden(db)
                for start in times:
                    what = _clash(start, length, windows)
                    if what:
                        result.findings.append(plan.finding(
                            ID, f"rule {rule.get('rule_name')!r} ({schedule}, start window "
                                f"{length} min) may start at {_when(start)}, within an hour "
                                f"before or during {db.stack.id} {db.address}'s {what}: AWS "
                                "Backup does not start the job there",
                            "move backup.schedule so the start window ends an hour before the "
                            "database's backup window and clears its maintenance window"))
                        break
    return result
