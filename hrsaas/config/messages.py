"""Pydantic's errors in words: the rule a value breaks and how to fix it — never a raw regular
expression, never "a value that satisfies the constraint"."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel

from . import models as m

# Every pattern the models use → (the rule in words, an example of a valid value).
PATTERN_WORDS: dict[str, tuple[str, str]] = {
    m.NAME_PATTERN: ("2-32 characters: lowercase letters, digits and hyphens, starting with a "
                     "letter and not ending with a hyphen", "private-app-a"),
    m.SERVICE_NAME: ("a service name is lowercase letters and digits, starting with a letter "
                     "(no hyphens or capitals: resources are named <name>-service)",
                     "auth"),
    m.ENV_NAME: ("an environment name is 2-16 characters: a lowercase letter, then lowercase "
                 "letters or digits (no hyphens, underscores or capitals)", "staging"),
    m.ACCOUNT_ID: ("an AWS account ID is exactly 12 digits, written as a quoted string",
                   '"111111111111"'),
    m.REGION: ("an AWS region name: two letters, a word and a digit", "ap-northeast-2"),
    m.RDS_CLASS: ("an RDS DB instance class is db.<family>.<size>", "db.r6g.large"),
    m.CACHE_NODE_TYPE: ("an ElastiCache node type is cache.<family>.<size>", "cache.r6g.large"),
    m.TOPIC_NAME: ("an SNS topic name is 1-256 letters, digits, hyphens or underscores",
                   "approval-completed"),
    m.HEALTH_PATH: ("an absolute URL path: '/' then letters, digits, '/', '_', '.' or '-'",
                    "/actuator/health"),
    m.HTTP_MATCHER: ("HTTP status codes: a code, a range or a comma-separated list of them",
                     "200 or 200-299 or 200,302"),
    m.TLS_POLICY: ("an ELB security policy name", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    m.DB_ENGINE_VERSION: ("a PostgreSQL version: the major version or major.minor", "15"),
    m.CACHE_ENGINE_VERSION: ("a Redis 7 version: 7.<minor>", "7.1"),
    m.DB_USERNAME: ("a PostgreSQL user name: a lowercase letter, then up to 62 lowercase "
                    "letters, digits or underscores", "hr_saas_admin"),
    m.HOSTED_ZONE_ID: ("a Route 53 hosted zone ID: 'Z' and up to 31 capital letters or digits",
                       "Z0123456789ABCDEFGHIJ"),
    m.CRON: ("an AWS cron expression: cron(minutes hours day-of-month month day-of-week year)",
             "cron(0 18 * * ? *)"),
    m.GITHUB_REPOSITORY: ("a GitHub repository as owner/name", "example-org/hr-saas-infra"),
    m.OIDC_PROVIDER_ARN: ("the ARN of the account's GitHub OIDC provider",
                          "arn:aws:iam::111111111111:oidc-provider/"
                          "token.actions.githubusercontent.com"),
    m.ECS_CLUSTER_NAME: ("an ECS cluster name is 1-255 letters, digits, hyphens or underscores",
                         "hr-saas-production"),
    m.WINDOW: ("a weekly window ddd:hh24:mi-ddd:hh24:mi in UTC, days mon-sun in lowercase",
               "sun:18:30-sun:19:30"),
    m.DAILY_WINDOW: ("a daily window hh24:mi-hh24:mi in UTC", "17:00-18:00"),
    m.ANOMALY_MONITOR_ARN: ("the ARN of a Cost Anomaly Detection monitor",
                            "arn:aws:ce::111111111111:anomalymonitor/"
                            "0a1b2c3d-4e5f-6789-abcd-ef0123456789"),
    m.DOMAIN: ("a lowercase DNS name: labels of letters, digits and hyphens (not at either "
               "end of a label) separated by dots, ending in a top-level domain of letters",
               "hr.example.com"),
}


def model_at(loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The model that holds the last element of ``loc`` (for 'known settings here')."""
    model: Any = root
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if isinstance(model, dict):  # inside dict[str, Model]: the key names an entry
            model = model["value"]
            continue
        field = model.model_fields.get(part) if isinstance(model, type) else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin is dict and len(args) == 2:
        inner = _inner_model(args[1])
        return {"value": inner} if inner is not None else None
    for arg in args:
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _example_list(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def translate(err: dict[str, Any], loc: tuple[Any, ...], root: type[BaseModel]
              ) -> tuple[str, str]:
    """(message, fix) for one pydantic error at ``loc`` below the ``root`` model."""
    kind, ctx = err["type"], err.get("ctx") or {}
    key = loc[-1] if loc else ""
    if kind == "missing":
        return "a required setting is missing", (
            f"add {key} (envs/base/defaults.toml holds the guide's values)")
    if kind == "extra_forbidden":
        model = model_at(loc, root)
        known = sorted(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(key), known, n=1)
        shown = loc[1:-1] if loc[:1] == ("catalog",) else loc[:-1]
        table = ".".join(str(p) for p in shown if not isinstance(p, int))
        where = f"[{table}]" if table else "the top level"
        fix = f"did you mean {close[0]}? " if close else ""
        fix += ("remove it" + (f"; the settings of {where} are: {', '.join(known)}"
                               if known else ""))
        return f"unknown setting {key!r} in {where}", fix
    if kind == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(ctx.get("pattern", ""))
        if words:
            return f"not valid: {words[0]}", f"write it like {words[1]}"
        return "not in the required form", f"match the pattern {ctx.get('pattern')}"
    if kind == "bool_type":
        return "must be true or false (a TOML boolean, without quotes)", "write true or false"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number", "write a whole number without quotes, e.g. 3"
    if kind in ("float_type", "float_parsing"):
        return "must be a number", "write a number without quotes, e.g. 0.5"
    if kind == "string_type":
        return "must be a text value", 'write it in double quotes, e.g. "value"'
    if kind in ("tuple_type", "list_type"):
        return "must be a list", "write a list in brackets, e.g. [\"a\", \"b\"]"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        shown = loc[1:] if loc[:1] == ("catalog",) else loc
        table = ".".join(str(p) for p in shown if not isinstance(p, int))
        if shown and isinstance(shown[-1], int):
            return "must be a table", f"write each entry as a [[{table}]] table"
        return "must be a table", f"write it as a table: [{table}]"
    if kind == "greater_than_equal":
        return f"below the minimum {ctx['ge']}", f"use a value of at least {ctx['ge']}"
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']}", f"use a value above {ctx['gt']}"
    if kind == "less_than_equal":
        return f"above the maximum {ctx['le']}", f"use a value of at most {ctx['le']}"
    if kind == "less_than":
        return f"must be less than {ctx['lt']}", f"use a value below {ctx['lt']}"
    if kind == "literal_error":
        return (f"not one of the allowed values ({ctx.get('expected')})",
                f"use one of: {ctx.get('expected')}")
    if kind == "too_short":
        return (f"needs at least {ctx.get('min_length')} item(s)",
                f"give at least {ctx.get('min_length')}")
    if kind == "too_long":
        return (f"allows at most {ctx.get('max_length')} item(s)",
                f"give at most {ctx.get('max_length')}")
    if kind == "string_too_long":
        return (f"longer than {ctx.get('max_length')} characters",
                f"use at most {ctx.get('max_length')} characters")
    if kind == "string_too_short":
        return (f"shorter than {ctx.get('min_length')} characters",
                f"use at least {ctx.get('min_length')} characters")
    if kind == "value_error":
        error = ctx.get("error")
        message = str(error) if error is not None else err["msg"]
        fix = getattr(error, "fix", None) or "correct the value as the message says"
        return message, fix
    return err["msg"], "correct the value (see docs/configuration.md for the rules)"
