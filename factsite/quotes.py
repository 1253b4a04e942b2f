"""Quote provenance: does a wording occur in a source's archived text?

Matching is word by word. Case, typographic quotes and apostrophes, dashes,
punctuation and white space are tolerated; words are not. `…` or `[...]` in a
wording joins fragments that must appear in order.
"""

from __future__ import annotations

import difflib
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote as _percent

from .model import Segment

_APOSTROPHES = "'’ʼ‘`´"
_ELISION = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*")
# a sentence's end: after . ! ? or … (and closing quotes), white space; or a blank line. The
# match starts on the stop (or the line break): a pattern opening with one set of characters
# is searched for with a C loop over the text, where the look-behind `(?<=[.!?…])…|\n\s*\n`
# was tried at every character (2.8x as slow over 2,000 source texts)
_SENTENCE_END = re.compile(r"[.!?…\n](?:(?<=[.!?…])[\"”’»“]*\s+|(?<=\n)\s*\n)")


def _fold(text: str) -> str:
    """Case and apostrophes folded; keeps the length of ordinary text, so offsets still fit.

    One `str.replace` per apostrophe kind: `str.translate` with a table goes character by
    character in Python-level lookups, 13x slower on a source text (364 vs 27 us)."""
    for apostrophe in _APOSTROPHES[1:]:
        if apostrophe in text:
            text = text.replace(apostrophe, "'")
    return text.lower()


class Token(NamedTuple):
    key: str
    start: int
    end: int


_WORD_SPLIT = re.compile(rf"(\w+(?:[{_APOSTROPHES}]\w+)*)")


def _words(text: str) -> tuple[list[str], array]:
    """Folded words and a flat array of offsets (start, end, start, end, ...).

    One regex split and one running sum, both in C: tokenising word by word in
    Python was a third of a 10,000-claim build."""
    folded = _fold(text)
    if len(folded) == len(text):
        parts = _WORD_SPLIT.split(folded)
        keys = parts[1::2]
    else:  # folding changed lengths (rare letters): fold word by word
        parts = _WORD_SPLIT.split(text)
        keys = [_fold(word) for word in parts[1::2]]
    # (through a list: `array` fills itself from a list in C, from an iterator item by item)
    return keys, array("l", list(accumulate(map(len, parts[:-1]))))


def tokenize(text: str) -> list[Token]:
    """Words with their offsets in `text`, each keyed for comparison."""
    keys, bounds = _words(text)
    return [Token(key, bounds[2 * i], bounds[2 * i + 1]) for i, key in enumerate(keys)]


class Run(NamedTuple):
    """Words of a wording between elisions, and where they lie in the (NFC) wording."""
    keys: list[str]
    start: int  # of the first word
    end: int  # of the last word


def fragments(wording: str) -> list[Run]:
    """The wording's word runs between elisions."""
    wording = unicodedata.normalize("NFC", wording)
    runs, start = [], 0
    # (`_ELISION` may start at any character, so searching a wording without an ellipsis
    # for one was a quarter of this: 0.08 of 0.29 s over 19,746 wordings)
    elisions = _ELISION.finditer(wording) if "…" in wording or "..." in wording else ()
    for match in [*elisions, None]:
        end = match.start() if match else len(wording)
        keys, bounds = _words(wording[start:end])
        if keys:
            runs.append(Run(keys, start + bounds[0], start + bounds[-1]))
        if match:
            start = match.end()
    return runs


@dataclass
class Found:
    spans: list[tuple[int, int]]  # character spans in the source text, one per fragment


@dataclass
class QuoteResult:
    """What a match leaves for the page, cached per (source, wording). The passage in
    context is cut here, where the source's text is at hand: cut when the claim page was
    drawn, each render worker rebuilt the source's text and sentences again (1.5 CPU-s of
    a 10,000-claim build)."""
    found: bool
    spans: list[tuple[int, int]]
    text_fragment: str
    missing: "Missing | None" = None
    context: list[Segment] = field(default_factory=list)  # the passage: sentences around, quote marked

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its values: the check workers send back ~20,000 at 10,000 claims and
        the cache keeps them (dump and load 0.22 s by the dataclass's default, 0.18 s so)."""
        return (QuoteResult, (self.found, self.spans, self.text_fragment, self.missing, self.context))


@dataclass
class Missing:
    fragment: str  # the part of the wording that was not found
    closest: str  # the closest passage of the source, as printed there
    differences: list[str]  # human-readable, word by word


_DOUBLE_MARKS = "\"“”„‟«»"
_SINGLE_MARKS = "'‘’‚‛‹›"


def without_outer_marks(text: str) -> str:
    """A quotation pasted with its own quotation marks around it ("“…”"): the marks are
    not the speaker's words, and pages put their own around it (it showed ““…””). Marks
    are taken off only when none of their kind stands inside (`"A" and "B"` keeps them)."""
    if len(text) > 2:
        for marks in (_DOUBLE_MARKS, _SINGLE_MARKS):
            if text[0] in marks and text[-1] in marks and not any(ch in marks for ch in text[1:-1]):
                return text[1:-1].strip()
    return text


_VOTES = 200_000  # word positions looked at to find where a missing wording was meant to be
_COMPARED = 25 * 64 * 64  # the places compared with it: 25 for a wording of 64 words or fewer


class SourceText:
    """A source's archived text, searched for wordings.

    A wording's words are looked for where the first of them occurs in the folded text
    (`str.find`, C speed), and compared there in place (`_run_ends_at`): cutting whole texts
    into words was half of checking a 10,000-claim archive (2.0 of 4.3 CPU-s). Where folding
    changes the text's length (a few rare letters), or for the closest passage to a wording
    that is not there, the whole text is indexed: its words joined into one space-separated
    string of folded keys, so finding a wording is a single `str.find` and the word number
    of a hit is the count of spaces before it.
    """

    def __init__(self, text: str):
        self.text = unicodedata.normalize("NFC", text)
        folded = _fold(self.text)
        self.folded = folded if len(folded) == len(self.text) else None
        self._index: tuple[str, array] | None = None
        self._positions: dict[str, list[int]] | None = None

    def _indexed(self) -> tuple[str, array]:
        if self._index is None:
            # word boundaries as one flat array of ints (start, end, start, end, ...): a list of
            # tuples cost ~60 bytes a word, 270 MB over 10,000 claims' sources
            keys, bounds = _words(self.text)
            self._index = (" " + " ".join(keys) + " ", bounds)
        return self._index

    @property
    def keys(self) -> list[str]:
        return self._indexed()[0].split()

    @property
    def spans(self) -> list[tuple[int, int]]:
        b = self._indexed()[1]
        return [(b[i], b[i + 1]) for i in range(0, len(b), 2)]

    @property
    def tokens(self) -> list[Token]:
        return [Token(k, a, b) for k, (a, b) in zip(self.keys, self.spans)]

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            self._positions = {}
            for i, key in enumerate(self.keys):
                self._positions.setdefault(key, []).append(i)
        return self._positions

    def _find_run(self, run: list[str], after: int) -> tuple[int, int] | None:
        """Where the words `run` are, in order, starting at or after character `after`:
        (start of the first, end of the last)."""
        if self.folded is None:
            return self._find_run_indexed(run, after)
        folded, first = self.folded, run[0]
        tries = 0
        at = folded.find(first, after)
        while at >= 0:
            # most places a first word occurs at ("the", "a") are not the wording's; the
            # words are compared there one by one, in place, and the first that differs
            # rules the place out
            if _word_starts_at(folded, at):
                end, matched = _run_ends_at(folded, at, run)
                if end is not None:
                    return at, end
                if matched >= 2:
                    tries += 1
                    if tries > 64:  # the same words again and again: index the text once
                        return self._find_run_indexed(run, at)
            at = folded.find(first, at + 1)
        return None

    def _find_run_indexed(self, run: list[str], after: int) -> tuple[int, int] | None:
        joined, b = self._indexed()
        # the first word that starts at or after `after` (a word's edge, or 0): its number
        # is half the count of bounds up to `after` (they are sorted)
        word = bisect_right(b, after) // 2 if after else 0
        start = _nth_space(joined, word)
        at = joined.find(" " + " ".join(run) + " ", start)
        if at < 0:
            return None
        number = joined.count(" ", 0, at + 1) - 1
        return b[2 * number], b[2 * (number + len(run) - 1) + 1]

    def find(self, wording: str) -> Found | Missing:
        runs = fragments(wording)
        if not runs:
            return Missing(wording, "", ["the wording has no words"])
        spans: list[tuple[int, int]] = []
        after = 0
        for run in runs:
            hit = self._find_run(run.keys, after)
            if hit is None:
                nfc = unicodedata.normalize("NFC", wording)
                return self._closest(nfc[run.start:run.end], run.keys)
            spans.append(hit)
            after = hit[1]
        return Found(spans)

    def _closest(self, piece: str, keys: list[str]) -> Missing:
        """The window of the source most like the missing words, and how they differ."""
        if not self._indexed()[1]:
            return Missing(piece, "", ["the source has no text"])
        keys_all = self.keys
        votes: dict[int, int] = {}
        # each word votes for the windows it would put the wording at; the rarest words
        # first, within a budget: "the" in a long article votes a thousand times a word,
        # and a wording of repeated common words against such a text took minutes
        budget = _VOTES
        positions = self.positions
        for count, j, key in sorted((len(positions.get(key, ())), j, key) for j, key in enumerate(keys)):
            if count > budget:
                break
            budget -= count
            for i in positions.get(key, ()):
                votes[i - j] = votes.get(i - j, 0) + 1
        candidates = sorted(votes, key=lambda s: (-votes[s], s))[:25] or [0]
        best: tuple[float, int, int] | None = None
        n = len(keys)
        # two word-by-word comparisons per candidate, each up to n x (n + 6) steps on words
        # that repeat: fewer candidates for a long wording (a 1,000-word one took 9 s)
        candidates = candidates[:max(1, _COMPARED // max(1, n * n))]
        for start in candidates:
            lo, hi = max(0, start - 3), min(len(keys_all), start + n + 3)
            matcher = difflib.SequenceMatcher(None, keys, keys_all[lo:hi], autojunk=False)
            blocks = [b for b in matcher.get_matching_blocks() if b.size]
            if not blocks:
                continue
            # align the window with the whole wording, unmatched first and last words included
            w_lo = max(0, lo + blocks[0].b - blocks[0].a)
            w_hi = min(len(keys_all), lo + blocks[-1].b + blocks[-1].size + (n - blocks[-1].a - blocks[-1].size))
            ratio = difflib.SequenceMatcher(None, keys, keys_all[w_lo:w_hi], autojunk=False).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, w_lo, w_hi)
        if best is None:
            return Missing(piece, "", ["none of its words occur in the source"])
        _, w_lo, w_hi = best
        window = self.tokens[w_lo:w_hi]  # built on this rare path only
        closest = self.text[window[0].start:window[-1].end]
        words_piece = [piece[t.start:t.end] for t in tokenize(piece)]
        words_source = [self.text[t.start:t.end] for t in window]
        return Missing(piece, closest, describe_differences(words_piece, words_source))

    def check(self, wording: str) -> QuoteResult:
        match = self.find(wording)
        if isinstance(match, Found):
            spans = match.spans
            return QuoteResult(True, spans, self.text_fragment(spans[0][0], spans[-1][1]),
                               context=self.context(spans))
        return QuoteResult(False, [], "", match)

    def context(self, spans: list[tuple[int, int]]) -> list[Segment]:
        """The sentence before, the quoted sentence(s) and the sentence after, quote marked."""
        lo, hi = _passage_bounds(self.text, spans[0][0], spans[-1][1])
        segments, at = [], lo
        for start, end in spans:
            if start > at:
                segments.append(Segment(_flat(self.text[at:start]), False))
            segments.append(Segment(_flat(self.text[start:end]), True))
            at = end
        if hi > at:
            segments.append(Segment(_flat(self.text[at:hi]), False))
        return segments

    def text_fragment(self, start: int, end: int) -> str:
        """A URL text fragment (#:~:text=start,end) that highlights the quote on the original
        page, from the word at `start` to the one ending at `end`: up to 8 words whole,
        else the first four and the last four."""
        passage = self.text[start:end]
        if self.folded is None:  # the words as the index cut them
            _joined, bounds = self._indexed()
            b: Any = [at - start for at in bounds[bisect_left(bounds, start):bisect_right(bounds, end)]]
        else:  # the same words: the passage starts and ends on a word's edge
            _keys, b = _words(passage)
        words = len(b) // 2
        if words <= 8:
            return "#:~:text=" + _encode(passage)
        return "#:~:text=" + _encode(passage[:b[7]]) + "," + _encode(passage[b[2 * words - 8]:])


_WORD_CHAR = re.compile(r"\w")


def _passage_bounds(text: str, start: int, end: int, back: int = 256) -> tuple[int, int]:
    """Where the passage around text[start:end] begins and ends: from the sentence before
    the first one ending after `start`, to the sentence after the first one ending at or
    after `end`. Sentences lie between matches of _SENTENCE_END; empty ones do not count.

    Only the text near the quote is cut into sentences: the whole text was 0.8 of 5 CPU-s
    of checking a 10,000-claim archive. The cut starts after a letter or digit, which no
    sentence end contains or starts on, so the ends found from there are the ends found from
    the text's start; the first sentence found may be a part, so two must lie before the
    quote, or the cut is moved back. (Scanning costs ~9 ns a character: the first cut lies
    three sentences back, 256 characters.)"""
    while True:
        cut = max(0, start - back)
        while cut > 0 and not text[cut - 1].isalnum():
            cut -= 1
        sentences, at, after = [], cut, 0
        for match in _SENTENCE_END.finditer(text, cut):
            stop = match.start()
            if text[stop] != "\n":
                stop += 1  # a sentence keeps its full stop
            if stop > at:
                sentences.append((at, stop))
                if stop >= end:
                    after += 1
                    if after == 2:  # the sentence after the quote's is whole
                        break
            at = match.end()
        else:
            if at < len(text):
                sentences.append((at, len(text)))
        first = next((i for i, (_s, e) in enumerate(sentences) if e > start), None)
        if cut == 0 or (first is not None and first >= 2):
            break
        back *= 4
    if first is None:
        first = 0
    last = next((i for i, (_s, e) in enumerate(sentences) if e >= end), len(sentences) - 1)
    return sentences[max(0, first - 1)][0], sentences[min(len(sentences) - 1, last + 1)][1]


def _word_starts_at(folded: str, at: int) -> bool:
    """Does a word of `_words` start at `at` (where a word character is)? Not if a word
    character precedes it, nor one apostrophe after a word character (`don't`)."""
    if at == 0:
        return True
    before = folded[at - 1]
    if _WORD_CHAR.match(before):
        return False
    return not (before == "'" and at >= 2 and _WORD_CHAR.match(folded, at - 2) is not None)


_CONTINUES = re.compile(rf"\w|[{_APOSTROPHES}]\w")  # what would carry a word on past where it seems to end
_GAP = re.compile(r"\W+")  # between two words: everything up to the next word character


def _run_ends_at(folded: str, at: int, run: list[str]) -> tuple[int | None, int]:
    """Where the words `run` end if they are the words of a folded text from the word start
    `at` (else None), and how many of them matched. `_words` splits a text into words of
    word characters joined by single apostrophes, so a word is there when its characters
    are and neither a word character nor an apostrophe and one follow them; the gap to the
    next word is every character up to the next word character.

    Compared in place, with a few calls in C a word: cutting a window of the text into
    words at every place the first word occurs was a third of checking quotations."""
    last = len(run) - 1
    for number, key in enumerate(run):
        if not folded.startswith(key, at):
            return None, number
        at += len(key)
        if _CONTINUES.match(folded, at) is not None:
            return None, number
        if number == last:
            break
        gap = _GAP.match(folded, at)
        if gap is None:  # the text ends here
            return None, number + 1
        at = gap.end()
    return at, len(run)


def _nth_space(joined: str, number: int) -> int:
    """Where word `number` of the joined keys begins (at its leading space)."""
    at = 0
    for _ in range(number):
        at = joined.index(" ", at + 1)
    return at


def _flat(text: str) -> str:
    """Each run of white space as one space, as `re.sub(r"\\s+", " ", text)` gives it (the
    same characters are white space to both): `str.split` and `join` run in C, where the
    regex made a replacement per gap, 2.5x as slow over the ~100,000 pieces of passages and
    text fragments of 10,000 claims (0.25 vs 0.10 s)."""
    words = text.split()
    if not words:
        return " " if text else ""
    flat = " ".join(words)
    if text[0].isspace():
        flat = " " + flat
    if text[-1].isspace():
        flat += " "
    return flat


def _encode(text: str) -> str:
    # '-', ',' and '&' are syntax inside a text directive and must be escaped
    return _percent(_flat(text), safe="").replace("-", "%2D")


def describe_differences(quoted: list[str], printed: list[str]) -> list[str]:
    """Word-level differences between the quoted words and the source's, readable."""
    matcher = difflib.SequenceMatcher(None, [_fold(w) for w in quoted], [_fold(w) for w in printed],
                                      autojunk=False)
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    moved_ours = sorted(_fold(w) for op in opcodes for w in quoted[op[1]:op[2]])
    moved_theirs = sorted(_fold(w) for op in opcodes for w in printed[op[3]:op[4]])
    if len(opcodes) > 1 and moved_ours == moved_theirs:
        a1, a2 = opcodes[0][1], opcodes[-1][2]
        b1, b2 = opcodes[0][3], opcodes[-1][4]
        return [f'word order differs: quote has "{" ".join(quoted[a1:a2])}" '
                f'where the source has "{" ".join(printed[b1:b2])}"']
    out = []
    for op, a1, a2, b1, b2 in opcodes:
        ours, theirs = " ".join(quoted[a1:a2]), " ".join(printed[b1:b2])
        if op == "replace":
            out.append(f'quote has "{ours}" where the source has "{theirs}"')
        elif op == "delete":
            out.append(f'quote adds "{ours}", which the source does not have here')
        elif op == "insert":
            out.append(f'quote leaves out "{theirs}" (mark an elision with …)')
    return out


def compare_wordings(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """Both wordings as segments, the words that differ between them marked."""
    if a == b:  # two sources printed it alike (3,464 of the 10k corpus's 8,189 pairs)
        return ([Segment(a, False)], [Segment(b, False)]) if a else ([], [])
    keys_a, bounds_a = _words(a)
    keys_b, bounds_b = _words(b)
    differ_a: list[list[int]] = []  # [first, last + 1] word numbers of each run that differs
    differ_b: list[list[int]] = []
    if keys_a != keys_b:
        matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
        for op, a1, a2, b1, b2 in matcher.get_opcodes():
            if op != "equal":
                _add_run(differ_a, a1, a2)
                _add_run(differ_b, b1, b2)
    return _segments(a, bounds_a, differ_a), _segments(b, bounds_b, differ_b)


def _add_run(runs: list[list[int]], first: int, end: int) -> None:
    if first == end:
        return
    if runs and runs[-1][1] == first:  # runs that touch make one marked stretch
        runs[-1][1] = end
    else:
        runs.append([first, end])


def _segments(text: str, bounds: array, runs: list[list[int]]) -> list[Segment]:
    """The text cut at each run of differing words: a marked segment goes from the run's
    first word to its last, the gaps between them included; the rest is unmarked."""
    segments: list[Segment] = []
    at = 0
    for first, end in runs:
        start, stop = bounds[2 * first], bounds[2 * end - 1]
        if start > at:
            segments.append(Segment(text[at:start], False))
        segments.append(Segment(text[start:stop], True))
        at = stop
    if at < len(text):
        segments.append(Segment(text[at:], False))
    return segments
