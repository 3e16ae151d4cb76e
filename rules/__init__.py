"""The built-in rule pack: one module per rule, named by its slug."""

from __future__ import annotations

from analyzer.rules import Rule
from rules.aggregate_recompute import AggregateRecompute
from rules.analytics_inflation import AnalyticsInflation
from rules.dynamic_sql import DynamicSql
from rules.hot_row_contention import HotRowContention
from rules.missing_trigger_return import MissingTriggerReturn
from rules.noop_update_trigger import NoopUpdateTrigger
from rules.security_definer_search_path import SecurityDefinerSearchPath
from rules.trigger_recursion import TriggerRecursion
from rules.unresolved_reference import UnresolvedReference
from rules.write_amplification import WriteAmplification

BUILTIN_RULES: tuple[type[Rule], ...] = (
    AnalyticsInflation,
    WriteAmplification,
    AggregateRecompute,
    HotRowContention,
    NoopUpdateTrigger,
    TriggerRecursion,
    MissingTriggerReturn,
    UnresolvedReference,
    DynamicSql,
    SecurityDefinerSearchPath,
)
