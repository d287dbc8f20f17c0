"""The load's append-only ledger: what it meant to do (INTENT) and what it was told (ACK), one line each.

Lines, space-separated:
  INTENT <key> <case> <task> <who>   before each send (a retry repeats the key)
  LOST <key> <why>                   a send without an answer: `refused` (the server was down) or the error
  ACK <key> <status>                 the answer, once per key
  RESOLVE <key> <who|->              after a 409 that followed a LOST: who the task says completed it
  STUCK <case> <task> <who>          the load gave up on a task that stayed ready but could not be completed
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


class Ledger:
    """Line-buffered appends from several threads, one whole line at a time."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open("a", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, *words: object) -> None:
        """Append one line."""
        with self._lock:
            self._file.write(" ".join(str(w) for w in words) + "\n")

    def close(self) -> None:
        """Close the file."""
        self._file.close()


@dataclass
class Attempt:
    """Everything the ledger says about one key."""

    key: str
    case: int
    task: str
    who: str
    sends: int = 0
    lost: int = 0  # sends without an answer
    cut: int = 0  # of those, sends the server took and died before answering (not refused at the door)
    status: int | None = None
    resolved: str | None = None

    @property
    def done_by_me(self) -> bool:
        """The key completed its task: answered 200, or a 409 naming the sender after an unanswered attempt."""
        return self.status == 200 or (self.status == 409 and self.lost > 0 and self.resolved == self.who)


@dataclass
class Read:
    """A whole ledger, parsed."""

    attempts: dict[str, Attempt] = field(default_factory=dict)
    stuck: list[tuple[int, str, str]] = field(default_factory=list)


def read(path: Path) -> Read:
    """Parse a ledger (a line the load did not finish writing cannot occur: it is never killed)."""
    found = Read()
    for line in path.read_text(encoding="utf-8").splitlines():
        kind, *words = line.split()
        if kind == "INTENT":
            key, case, task, who = words
            attempt = found.attempts.setdefault(key, Attempt(key, int(case), task, who))
            attempt.sends += 1
        elif kind == "LOST":
            found.attempts[words[0]].lost += 1
            found.attempts[words[0]].cut += words[1] != "refused"
        elif kind == "ACK":
            found.attempts[words[0]].status = int(words[1])
        elif kind == "RESOLVE":
            found.attempts[words[0]].resolved = None if words[1] == "-" else words[1]
        elif kind == "STUCK":
            found.stuck.append((int(words[0]), words[1], words[2]))
    return found
