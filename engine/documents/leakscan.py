"""The leak scan: every byte that leaves the system is read for what the case's anonymisation key says is
identifying (real names, aliases, a surname or forename alone, dates of birth in common formats, NHS numbers,
postcodes and street addresses), and a hit refuses release. A finding names the file, where in it and which
person (by pseudonym), never the name itself.

Text is folded before matching, so case, accents (added or stripped), curly apostrophes, dashes, soft hyphens and
zero-width characters, possessives and names split across Word runs do not hide a name. The officials the
procedure lets documents name (7.4, 16.1, 19.2: LSCB Chair, SCR Panel Chair, overview author) are not flagged where
their full name is written, even when someone in the key shares a surname with them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from engine.documents.extract import Part, Piece, UnreadableFile, display_name, pieces_of
from engine.documents.key import AnonymisationKey

RULES = ("name", "alias", "surname", "forename", "dob", "nhs", "postcode", "address")
LABELS = {"name": "real name", "alias": "alias", "surname": "surname", "forename": "forename",
          "dob": "date of birth", "nhs": "NHS number", "postcode": "postcode", "address": "street address"}
PRIORITY = {rule: n for n, rule in enumerate(RULES)}  # where two rules match the same text, the first one names it

REMEMBERED_CHARS = 10_000  # a scanner keeps the hits of texts this long ...
REMEMBERED_TEXTS = 8  # ... the last few of them

# Letters NFKD does not take apart.
EXTRA = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ß": "ss"}
APOSTROPHES = "\u2018\u2019\u201b\u02bc\u02bb\u0060\u00b4\u2032\uff07"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
WORD_START = r"(?<![^\W_])"
WORD_END = r"(?![^\W_])"
GAP = r"[\s\-.,]*"  # what may sit between the parts of a name: "Carter-Blake", "Carter Blake", "J. Smith"
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", re.IGNORECASE)
STREETS = {"road": "rd", "street": "st", "avenue": "ave", "lane": "ln", "drive": "dr", "close": "cl",
           "crescent": "cres", "court": "ct", "place": "pl", "gardens": "gdns", "terrace": "terr", "way": "way",
           "grove": "gr", "square": "sq", "walk": "wlk", "mews": "mews", "rise": "rise", "hill": "hill",
           "park": "pk", "row": "row", "view": "view"}


@dataclass(frozen=True)
class Finding:
    """One leak: which file, where in it, what kind of identifier and whose (by pseudonym)."""

    file: str
    location: str
    offset: int | None
    rule: str
    who: str

    def line(self) -> str:
        """One line for a person to act on, without the identifying text itself."""
        where = self.location if self.offset is None else f"{self.location}, offset {self.offset}"
        return f"{self.file}: {where}: {LABELS.get(self.rule, self.rule)} of {self.who}"


class ScanError(Exception):
    """A file could not be scanned (so it is not released); the message names the file, not its contents."""


# ---------------------------------------------------------------------------------------------------- folding
@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    """One character as the matcher sees it: lower case, no accents, plain apostrophe and hyphen, plain space."""
    if c in INVISIBLE:
        return ""
    if c in APOSTROPHES:
        return "'"
    if c in DASHES:
        return "-"
    if c.isspace():
        return " "
    low = c.lower()
    if low in EXTRA:
        return EXTRA[low]
    decomposed = unicodedata.normalize("NFKD", low)
    return "".join(d for d in decomposed if not unicodedata.combining(d)).casefold()


NON_ASCII = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> tuple[str, list[int]]:
    """`text` folded for matching, and for each folded character the offset of the character it came from."""
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in NON_ASCII.finditer(text):
        out.append(text[pos:m.start()].lower())
        index.extend(range(pos, m.start()))
        folded = _fold_char(m.group())
        out.append(folded)
        index.extend([m.start()] * len(folded))
        pos = m.end()
    out.append(text[pos:].lower())
    index.extend(range(pos, len(text)))
    return "".join(out).replace("`", "'"), index


def _words(text: str) -> list[str]:
    """A name's words, folded, without punctuation other than apostrophes (hyphens split words: "Carter-Blake" is
    two; "(Dorset," is "dorset")."""
    return [w.strip("'") for w in re.split(r"[^\w']+", fold(text)[0]) if w.strip("'")]


def _after(not_before: str, body: str) -> str:
    """`body` where no `not_before` character precedes it. When `body` opens with a plain letter or digit, that is
    written first and the look-behind after it (the same matches), so the regex engine can search for the letter
    rather than try the look-behind at every position of the text."""
    head = body[:1]
    if head.isalnum():
        return f"{head}(?<!{not_before}{head}){body[1:]}"
    return f"(?<!{not_before}){body}"


def _word_start(body: str) -> str:
    """`body` at the start of a word (the regex WORD_START then `body`)."""
    return _after(r"[^\W_]", body)


def _phrase(words: list[str]) -> str:
    """A regex for these words in order, separated by spaces, hyphens, dots or commas, possibly possessive."""
    body = GAP.join(re.escape(w).replace("'", "'?") for w in words)
    return _word_start(f"{body}(?:'?s)?{WORD_END}")


# ---------------------------------------------------------------------------------------------------- patterns
@dataclass(frozen=True)
class _Pattern:
    """One thing to look for: its regex, rule and whose it is."""

    regex: str
    rule: str
    who: str
    needle: str = ""  # text every match contains: when it is absent the regex is not run


def _needle(word: str) -> str:
    """The longest piece of a folded word free of apostrophes and dots (which the regex lets vary)."""
    return max(re.split(r"['.]", word), key=len)


def _dob_regex(d: date) -> str:
    """A date of birth in the formats people write: 14/03/2016, 14.3.16, 2016-03-14, 14th March 2016, March 14,
    2016, 14 Mar 16, 14032016."""
    day = rf"0?{d.day}(?:st|nd|rd|th)?"
    month_num = rf"0?{d.month}"
    name = MONTHS[d.month - 1]
    month_word = rf"(?:{name}|{name[:3]}\.?{'|sept' if d.month == 9 else ''})"
    year = rf"(?:{d.year}|{d.year % 100:02d})"
    sep = r"\s*[/.\-]\s*"
    words = r"[\s,]+(?:of\s+)?"
    forms = [
        rf"{day}{sep}{month_num}{sep}{year}",
        rf"{d.year}{sep}0?{d.month}{sep}0?{d.day}",
        rf"{day}{words}{month_word}{words}{year}",
        rf"{month_word}{words}{day}{words}{year}",
        rf"{day}{sep}{month_word}{sep}{year}",
        rf"{month_num}{sep}0?{d.day}{sep}{d.year}",  # the American order, four-digit year only
        rf"{d.day:02d}{d.month:02d}{d.year}",
    ]
    return r"(?<![\d])(?:" + "|".join(forms) + r")(?![\d])"


def _street(component: str) -> list[tuple[str, str]]:
    """Regexes for the street of one address line: "14 Acacia Road" and "Acacia Rd" alike, each with a word every
    match contains."""
    words = _words(component)
    if len(words) < 2:
        return []
    number = ""
    if re.fullmatch(r"\d+[a-z]?", words[0]):
        number, words = words[0], words[1:]
    if not words:
        return []
    last = words[-1].rstrip(".")
    kinds = {k for k, v in STREETS.items() if last in (k, v)}
    if kinds:
        kind = kinds.pop()
        tail = rf"(?:{re.escape(kind)}|{re.escape(STREETS[kind])}\.?)"
        stem = GAP.join(re.escape(w) for w in words[:-1])
        needle = max(words[:-1], key=len)
        found = [(rf"{WORD_START}(?:{re.escape(number)}{GAP})?{stem}{GAP}{tail}{WORD_END}", needle)] if stem else []
        return found
    if number or len(words) >= 2:  # "Flat 2", "Rose Cottage": the whole line
        whole = GAP.join(re.escape(w) for w in ([number] if number else []) + words)
        return [(_word_start(f"{whole}{WORD_END}"), max(([number] if number else []) + words, key=len))]
    return []


def _patterns(key: AnonymisationKey, rules: Collection[str]) -> list[_Pattern]:
    """Everything the key says must not appear."""
    found: list[_Pattern] = []

    def add(regex: str, rule: str, who: str, needle: str = "") -> None:
        if rule in rules:
            found.append(_Pattern(regex, rule, who, needle))

    for n, person in enumerate(key.people, start=1):
        who = person.pseudonym or f"person {n} of the key"
        real = _words(person.real)
        if real:
            add(_phrase(real), "name", who, _needle(real[0]))
            surname = person.real.split()[-1] if person.real.split() else ""
            surname_words = _words(surname)
            if len(real) > 1 and surname_words:
                add(_phrase(surname_words), "surname", who, _needle(surname_words[0]))
                if len(surname_words) > 1:  # each part of a hyphenated surname
                    for part in surname_words:
                        if len(part) >= 3:
                            add(_phrase([part]), "surname", who, _needle(part))
            for given in real[: len(real) - len(surname_words)] if len(real) > 1 else real:
                if len(given) >= 2:
                    add(_phrase([given]), "forename", who, _needle(given))
        for alias in person.aliases:
            words = _words(alias)
            if words:
                add(_phrase(words), "alias", who, _needle(words[0]))
                if len(words) > 1 and len(words[-1]) >= 3:
                    add(_phrase([words[-1]]), "alias", who, _needle(words[-1]))  # a maiden or former surname alone
        if person.dob is not None:
            add(_dob_regex(person.dob), "dob", who, f"{person.dob.year % 100:02d}")
        for number in person.nhs:
            digits = re.sub(r"\D", "", number)
            if digits:
                add(_after(r"[\d]", r"[\s\-]?".join(digits) + r"(?![\d])"), "nhs", who)
    for n, address in enumerate(key.addresses, start=1):
        who = f"address {n} of the key"
        for code in POSTCODE.finditer(address):
            add(_word_start(rf"{code.group(1).lower()}\s*{code.group(2).lower()}{WORD_END}"), "postcode", who,
                code.group(2).lower())
        without = POSTCODE.sub(" ", address)
        for component in without.split(","):
            for regex, needle in _street(component):
                add(regex, "address", who, needle)
    return found


def _permitted(key: AnonymisationKey) -> re.Pattern[str] | None:
    """What may be written: the full names of the officials who may be named (with a middle initial or title
    between, or surname first) and the pseudonyms themselves ("Referrer 1" for Rita Referrer), as one regex over
    folded text."""
    phrases: list[str] = [_phrase(_words(p.pseudonym)) for p in key.people if _words(p.pseudonym)]
    for official in key.permitted:
        words = _words(official.name)
        if not words:
            continue
        phrases.append(_phrase(words))
        if len(words) >= 2:
            first, last = re.escape(words[0]), re.escape(words[-1])
            phrases.append(_word_start(rf"{first}\s+[a-z]\.?\s+{last}(?:'?s)?{WORD_END}"))
            phrases.append(_word_start(rf"{last},\s*{first}{WORD_END}"))
    return re.compile("|".join(phrases)) if phrases else None


class Scanner:
    """The key's patterns compiled once, to scan many parts quickly."""

    def __init__(self, key: AnonymisationKey, rules: Collection[str] = RULES) -> None:
        self.key = key
        self.patterns = _patterns(key, set(rules))
        self.compiled = [re.compile(p.regex) for p in self.patterns]
        self.permitted = _permitted(key)
        # long texts met again (each file written from one template carries the same styles, theme and settings)
        self._remembered: dict[str, list[tuple[int, int, str, str]]] = {}
        self.always = [n for n, p in enumerate(self.patterns) if not p.needle]
        self.needles: dict[str, list[int]] = {}  # needle -> the patterns that need it (each needle sought once)
        for n, pattern in enumerate(self.patterns):
            if pattern.needle:
                self.needles.setdefault(pattern.needle, []).append(n)

    def hits(self, text: str) -> list[tuple[int, int, str, str]]:
        """(start, end, rule, who) of every identifier in `text`, offsets into `text`, overlaps resolved."""
        if not self.compiled or not text:
            return []
        if len(text) < REMEMBERED_CHARS:
            return self._hits(text)
        found = self._remembered.get(text)
        if found is None:
            found = self._hits(text)
            if len(self._remembered) >= REMEMBERED_TEXTS:
                self._remembered = {}
            self._remembered[text] = found
        return list(found)

    def _hits(self, text: str) -> list[tuple[int, int, str, str]]:
        """`hits` worked out."""
        ascii_only = text.isascii()  # then folding only lowers case: each offset stays where it was
        folded, index = (text.lower().replace("`", "'"), None) if ascii_only else fold(text)
        wanted = self.always + [n for needle, ns in self.needles.items() if needle in folded for n in ns]
        raw: list[tuple[int, int, int]] = []
        for n in sorted(wanted):  # in the patterns' order, which settles ties below
            raw.extend((m.start(), m.end(), n) for m in self.compiled[n].finditer(folded) if m.end() > m.start())
        if not raw:
            return []
        allowed = [m.span() for m in self.permitted.finditer(folded)] if self.permitted else []
        starts = [a for a, _b in allowed]  # in order and apart: only the last to start at or before a hit can hold it
        raw.sort(key=lambda h: (h[0], -(h[1] - h[0]), PRIORITY[self.patterns[h[2]].rule]))
        found: list[tuple[int, int, str, str]] = []
        end_of_last = -1
        for start, end, n in raw:
            if start < end_of_last:
                continue
            holder = bisect_right(starts, start) - 1
            if holder >= 0 and end <= allowed[holder][1]:
                continue
            end_of_last = end
            pattern = self.patterns[n]
            span = (start, end) if index is None else (index[start], index[end - 1] + 1)
            found.append((*span, pattern.rule, pattern.who))
        return found

    def scan_parts(self, parts: Iterable[Part]) -> list[Finding]:
        """Findings over parts of files, each (file, location) read as one text with its parts on separate lines, so
        an offset counts from the start of that location (file names masked: no finding prints an identifier)."""
        return self._scan_pieces((part.file, part.location, part.text) for part in parts)

    def _scan_pieces(self, pieces: Iterable[Piece]) -> list[Finding]:
        """`scan_parts` over (file, location, text) pieces."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for file, location, text in pieces:
            grouped.setdefault((file, location), []).append(text)
        findings: list[Finding] = []
        for (file, location), texts in grouped.items():
            for start, _end, rule, who in self.hits("\n".join(texts)):
                findings.append(Finding(self.masked(file), location, None if location == "file name" else start,
                                        rule, who))
        return findings

    def masked(self, path: str) -> str:
        """A path with every identifier in it replaced by asterisks."""
        out = path
        for start, end, _rule, _who in sorted(self.hits(path), reverse=True):
            out = out[:start] + "*" * (end - start) + out[end:]
        return out

    def scan_bytes(self, filename: str, data: bytes) -> list[Finding]:
        """Every finding in one file; a file that cannot be read raises ScanError (never passes as clean)."""
        try:
            return self._scan_pieces(list(pieces_of(filename, data)))
        except UnreadableFile as exc:
            raise ScanError(self.masked(str(exc))) from None


REMOVED = {"dob": "[date of birth removed]", "nhs": "[NHS number removed]", "postcode": "[postcode removed]",
           "address": "[address removed]"}


def pseudonymise(text: str, scanner: Scanner) -> str:
    """`text` with every identifier the key knows replaced: people by their pseudonyms (a possessive kept),
    dates of birth, NHS numbers and addresses by a note that they were removed."""
    out: list[str] = []
    pos = 0
    for start, end, rule, who in scanner.hits(text):
        matched = text[start:end]
        replacement = REMOVED.get(rule, who)
        possessive = re.search(r"['\u2019]s$", matched)
        if possessive and rule not in REMOVED:
            replacement += possessive.group()
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def scan_bytes(filename: str, data: bytes, key: AnonymisationKey, rules: Collection[str] = RULES) -> list[Finding]:
    """Findings in one file's bytes against `key`."""
    return Scanner(key, rules).scan_bytes(filename, data)


def scan_path(path: Path, key: AnonymisationKey, rules: Collection[str] = RULES) -> list[Finding]:
    """Findings in one file on disk (its name as given is scanned too)."""
    return Scanner(key, rules).scan_bytes(str(path), path.read_bytes())


def scan_text(text: str, key: AnonymisationKey, rules: Collection[str] = RULES) -> list[tuple[int, str, str]]:
    """(offset, rule, who) of each identifier in a piece of text."""
    return [(start, rule, who) for start, _end, rule, who in Scanner(key, rules).hits(text)]


def scan_files(paths: Iterable[Path], key: AnonymisationKey) -> Iterator[Finding | ScanError]:
    """Findings (and unreadable files) over many files with one compiled scanner."""
    scanner = Scanner(key)
    for path in paths:
        try:
            yield from scanner.scan_bytes(str(path), path.read_bytes())
        except ScanError as exc:
            yield exc
        except OSError as exc:
            yield ScanError(f"{scanner.masked(str(path))}: cannot be read ({exc.strerror})")


__all__ = ["Finding", "RULES", "ScanError", "Scanner", "display_name", "fold", "pseudonymise", "scan_bytes",
           "scan_files", "scan_path", "scan_text"]
