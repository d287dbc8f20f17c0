"""The whole fuzz run (scripts/fuzz-api): arrange a database, serve it, fuzz per role, print the figures.

    python -m tests.fuzz.run [--examples 200] [--authz-examples 100] [--seed 42] [--postgresql]

Exit 0 only when every run found nothing; the reports stay in --workdir (a new temporary folder by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.databases import empty_database
from tests.fuzz.arrange import arrange, fresh_tokens
from tests.fuzz.harness import Outcome, Plan, authorise_roles, fuzz_roles, revoke_each, served


@contextmanager
def database(workdir: Path, postgresql: bool) -> Iterator[str]:
    """A new SQLite file in the work folder, or a throwaway PostgreSQL schema."""
    kind = "postgresql" if postgresql else "sqlite"
    with empty_database(kind, workdir / "fuzz.sqlite3", "fuzz", unreachable=sys.exit) as url:
        yield url


def fuzz_everything(database_url: str, workdir: Path, plan: Plan) -> list[Outcome]:
    """T-F1 and T-Z5 per role against one served database, then the token revocation per role."""
    arranged = arrange(database_url)
    with served(database_url, workdir) as base:
        outcomes = fuzz_roles(base, arranged.tokens, workdir, plan)
        outcomes += authorise_roles(base, arranged.tokens, workdir, plan)
        outcomes += revoke_each(base, fresh_tokens(database_url), workdir, plan)
    return outcomes


def report(outcomes: list[Outcome], seconds: float) -> str:
    """The per-run table, each failure under its run, and the totals."""
    lines = []
    for outcome in outcomes:
        lines.append(outcome.line())
        lines += [f"    {problem}" for problem in (*outcome.failures, *outcome.errors)]
    failed = sum(len(o.failures) + len(o.errors) for o in outcomes)
    lines.append(f"{len(outcomes)} runs, {sum(o.test_cases for o in outcomes)} test cases, {failed} failures, "
                 f"{seconds:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run, print, exit non-zero on any failure."""
    parser = argparse.ArgumentParser(prog="scripts/fuzz-api", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="test cases per operation for T-F1 (-n)")
    parser.add_argument("--authz-examples", type=int, default=100, help="test cases per operation for T-Z5 (-n)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--postgresql", action="store_true", help="a throwaway schema of SCR_TEST_POSTGRES_URL")
    parser.add_argument("--workdir", type=Path, help="where reports go (default: a new temporary folder)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fuzz-api-"))
    workdir.mkdir(parents=True, exist_ok=True)
    plan = Plan(args.examples, args.authz_examples, args.seed)
    started = time.monotonic()
    with database(workdir, args.postgresql) as url:
        outcomes = fuzz_everything(url, workdir, plan)
    print(report(outcomes, time.monotonic() - started))
    print(f"reports: {workdir}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
