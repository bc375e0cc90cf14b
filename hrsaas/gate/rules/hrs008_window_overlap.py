"""HRS008: a database's or cache's own backup (snapshot) and maintenance windows never overlap.

RDS and ElastiCache refuse a backup/snapshot window that overlaps the weekly maintenance window
(InvalidParameterCombination / InvalidParameterValue) — at create time or, worse, at the change
that moves one of them. The emulator accepts both; ``terraform validate`` checks only each
window's format. Configuration validation checks the env files; this rule checks what reaches
the synthesized stacks.
"""

from __future__ import annotations

from ...config.aws_rules import _daily, _overlap, _weekly
from .base import Result, Stacks

ID = "HRS008"
TITLE = "Backup/snapshot windows do not overlap maintenance windows"
SEVERITY = "HIGH"
AWS = """RDS: the preferred backup window must not conflict with the preferred maintenance
window. ElastiCache: the snapshot window must not overlap the maintenance window."""
DOC = ("https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ManagingAutomatedBackups.html"
       "#USER_WorkingWithAutomatedBackups.BackupWindow")
WINDOWS = {"aws_db_instance": "backup_window",
           "aws_elasticache_replication_group": "snapshot_window",
           "aws_elasticache_cluster": "snapshot_window"}


def check(stacks: Stacks) -> Result:
    result = Result()
    for r in stacks.resources(*WINDOWS):
        daily_attr = WINDOWS[r.type]
        daily, weekly = r.body.get(daily_attr), r.body.get("maintenance_window")
        if not (isinstance(daily, str) and isinstance(weekly, str)):
            continue
        day, week = _daily(daily), _weekly(weekly.lower())
        if day is None or week is None:
            continue  # a malformed window is terraform validate's or AWS's to refuse
        result.checked += 1
        if _overlap(day, week):
            result.findings.append(r.finding(
                ID, f"{daily_attr} {daily} overlaps maintenance_window {weekly}: AWS refuses "
                    "the pair",
                f"move the maintenance window after the {daily_attr.split('_')[0]} window "
                "(e.g. 30 minutes after it ends) in the environment's file"))
    return result
