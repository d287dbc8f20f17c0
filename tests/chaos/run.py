"""One kill run (RELIABILITY T-K1): the served app killed with SIGKILL K times while the load completes the tasks of
N cases, then the ledger reconciled against the database. `python -m tests.chaos.run --help` (scripts/chaos)."""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.load import Plan
from tests.chaos.reconcile import FAILURES, Figures, reconcile
from tests.chaos.server import ROOT, Server
from tests.chaos.store import database, prepare

PAUSES = (0.4, 1.4)  # seconds between a restart answering and the next kill, drawn uniformly


@dataclass
class Outcome:
    """A run's settings, what happened, and the reconciler's figures."""

    database: str
    hooks: str
    seed: int
    kills: int = 0  # kills made while the load was still working
    load_exit: int | None = None
    load_errors: str = ""
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: prepare, kills, rest of the load, reconcile
    restarts: list[float] = field(default_factory=list)  # seconds from each start to the first answer
    figures: Figures = field(default_factory=Figures)

    def lines(self) -> list[str]:
        """The run in a few lines, failure figures last."""
        f = self.figures
        phases = ", ".join(f"{name} {seconds} s" for name, seconds in self.phases.items())
        restart = (f"restart to first answer {min(self.restarts):.1f}-{max(self.restarts):.1f} s, "
                   if self.restarts else "")
        hooks = f" with {self.hooks}" if self.hooks else ""
        lines = [f"{self.database}{hooks}: N={f.cases} cases, K={self.kills} kills, {self.seconds:.0f} s wall "
                 f"({phases}), {restart}seed {self.seed}",
                 f"  completions {f.completions}; sends {f.sends} ({f.unanswered_sends} unanswered, {f.cut_off} "
                 f"of them cut off by a kill); answered 200: {f.answered_200}, 409: {f.answered_409} (settled by "
                 f"reading the task: {f.settled_by_reading}); completions acknowledged: {f.acknowledged}",
                 "  " + ", ".join(f"{name.replace('_', '-')} = {getattr(f, name)}" for name in FAILURES)]
        if self.load_exit:
            lines.append(f"  the load process exited {self.load_exit}: {self.load_errors.strip()[:500]}")
        lines += [f"  ! {note}" for note in f.notes]
        return lines


def kill_run(kind: str, cases: int, kills: int, workdir: Path, hooks: str = "", seed: int | None = None,
             load_seconds: float = 600.0) -> Outcome:
    """Prepare a database of `kind`, serve it, load it, kill the server `kills` times, reconcile."""
    outcome = Outcome(kind, hooks, seed if seed is not None else random.randrange(1 << 30))
    pauses = random.Random(outcome.seed)
    began = time.monotonic()
    with database(kind, workdir) as url:
        mark = _phases(outcome, began)
        ids, tokens = prepare(url, cases)
        mark("prepare")
        ledger = workdir / "ledger.txt"
        server = Server(url, workdir, hooks=hooks)
        plan = workdir / "plan.json"
        load_log = workdir / "load.log"
        try:
            server.start()
            Plan(server.url, ledger, ids, tokens, load_seconds).write(plan)
            with load_log.open("wb") as log:
                load = subprocess.Popen([sys.executable, "-m", "tests.chaos.load", str(plan)], cwd=ROOT,
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            try:
                for _ in range(kills):
                    try:
                        load.wait(timeout=pauses.uniform(*PAUSES))
                        break  # the load finished before the kills did
                    except subprocess.TimeoutExpired:
                        pass
                    server.kill()
                    outcome.kills += 1
                    server.start()
                mark("kills")
                outcome.load_exit = load.wait(timeout=load_seconds)
                mark("rest of the load")
            finally:
                if load.poll() is None:
                    load.kill()
                    load.wait()
        finally:
            server.kill()
        outcome.restarts = server.starts[1:]
        outcome.load_errors = load_log.read_text(errors="replace")
        outcome.figures = reconcile(url, ledger, ids)
        mark("reconcile")
    outcome.seconds = time.monotonic() - began
    return outcome


def _phases(outcome: Outcome, began: float) -> Callable[[str], None]:
    """A function recording, each time it is called, the seconds since the last call under the name given."""
    last = [began]

    def mark(name: str) -> None:
        now = time.monotonic()
        outcome.phases[name] = round(now - last[0], 1)
        last[0] = now

    return mark


def main(argv: list[str] | None = None) -> int:
    """Run on each database asked for and print the figures; exit 1 when a run did not reconcile (or, with
    --expect-failure, when one did)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=300, help="N: cases, two tasks each (default 300)")
    parser.add_argument("--kills", type=int, default=20, help="K: kills of the server (default 20)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--hooks", default="", help="SCR_TEST_HOOKS for the server, e.g. bug:split_tx")
    parser.add_argument("--expect-failure", action="store_true", help="the negative control: the run must fail")
    parser.add_argument("--seed", type=int, default=None, help="the kill pauses' random seed (printed)")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    failed = False
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix=f"chaos-{kind}-") as workdir:
            outcome = kill_run(kind, args.cases, args.kills, Path(workdir), args.hooks, args.seed)
        print("\n".join(outcome.lines()), flush=True)
        broken = bool(outcome.figures.failed) or outcome.load_exit != 0
        if broken != args.expect_failure:
            failed = True
            print(f"  FAILED: {'the negative control reconciled' if args.expect_failure else 'did not reconcile'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
