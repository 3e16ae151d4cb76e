from __future__ import annotations

from collections.abc import Iterable

from analyzer.findings import Finding, Hop, Severity
from analyzer.rules import Context, Rule


class SecurityDefinerSearchPath(Rule):
    """A SECURITY DEFINER function without a pinned search_path.

    Why it matters: a SECURITY DEFINER function runs with its owner's rights but resolves
    unqualified names through the caller's search_path. A caller who can create objects
    in a schema on that path can shadow a table or function and run code as the owner.
    Trigger functions often are SECURITY DEFINER to bypass row-level security.

    Bad:

        CREATE FUNCTION track_usage() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        AS $$ BEGIN UPDATE usage SET n = n + 1; RETURN NEW; END $$;

    Fix: `SET search_path = ''` (and qualify every name) or `SET search_path = public,
    pg_temp` on the function.
    """

    code = "RP303"
    name = "security-definer-search-path"
    severity = Severity.WARNING
    summary = "SECURITY DEFINER function without SET search_path"

    def check(self, ctx: Context) -> Iterable[Finding]:
        for function in ctx.catalog.functions.values():
            if function.security_definer and function.search_path is None:
                yield self.finding(
                    function.location,
                    f"{function.key} is SECURITY DEFINER but does not pin search_path: "
                    "callers can shadow the names it uses",
                    hint="Add SET search_path = '' (qualifying every name) or "
                    "SET search_path = public, pg_temp.",
                    subject=function.key,
                    path=(Hop("function", function.key, function.location, "SECURITY DEFINER"),),
                )
