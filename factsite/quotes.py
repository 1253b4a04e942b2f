"""Quote provenance: does a wording occur in a source's archived text?

Matching is word by word. Case, typographic quotes and apostrophes, dashes,
punctuation and white space are tolerated; words are not. `…` or `[...]` in a
wording joins fragments that must appear in order.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote as _percent

from .model import Segment

_APOSTROPHES = "'’ʼ‘`´"
_WORD = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")
_ELISION = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’»“]*\s+|\n\s*\n")
_APOS_TABLE = str.maketrans({c: "'" for c in _APOSTROPHES})


def _key(word: str) -> str:
    return unicodedata.normalize("NFKC", word).translate(_APOS_TABLE).casefold()


@dataclass(frozen=True)
class Token:
    key: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(_key(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def fragments(wording: str) -> list[list[Token]]:
    """The wording's word runs between elisions, each with offsets into the wording."""
    runs, start = [], 0
    for match in list(_ELISION.finditer(wording)) + [None]:
        end = match.start() if match else len(wording)
        tokens = [Token(t.key, t.start + start, t.end + start) for t in tokenize(wording[start:end])]
        if tokens:
            runs.append(tokens)
        if match:
            start = match.end()
    return runs


@dataclass
class Found:
    spans: list[tuple[int, int]]  # character spans in the source text, one per fragment


@dataclass
class QuoteResult:
    """What a page needs from a match, cached per (source, wording)."""
    found: bool
    context: list[Segment]
    text_fragment: str
    missing: "Missing | None" = None


@dataclass
class Missing:
    fragment: str  # the part of the wording that was not found
    closest: str  # the closest passage of the source, as printed there
    differences: list[str]  # human-readable, word by word


class SourceText:
    """A source's archived text, tokenized once, searched many times."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.keys = [t.key for t in self.tokens]
        self.positions: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.positions.setdefault(key, []).append(i)
        self._sentences: list[tuple[int, int]] | None = None

    def _find_run(self, run: list[str], after: int) -> int | None:
        n = len(run)
        for i in self.positions.get(run[0], ()):
            if i >= after and self.keys[i:i + n] == run:
                return i
        return None

    def find(self, wording: str) -> Found | Missing:
        runs = fragments(wording)
        if not runs:
            return Missing(wording, "", ["the wording has no words"])
        spans, after = [], 0
        for run in runs:
            keys = [t.key for t in run]
            at = self._find_run(keys, after)
            if at is None:
                piece = wording[run[0].start:run[-1].end]
                return self._closest(piece, keys)
            last = at + len(keys) - 1
            spans.append((self.tokens[at].start, self.tokens[last].end))
            after = last + 1
        return Found(spans)

    def _closest(self, piece: str, keys: list[str]) -> Missing:
        """The window of the source most like the missing words, and how they differ."""
        if not self.tokens:
            return Missing(piece, "", ["the source has no text"])
        votes: dict[int, int] = {}
        for j, key in enumerate(keys):
            for i in self.positions.get(key, ()):
                votes[i - j] = votes.get(i - j, 0) + 1
        candidates = sorted(votes, key=lambda s: (-votes[s], s))[:25] or [0]
        best: tuple[float, int, int] | None = None
        n = len(keys)
        for start in candidates:
            lo, hi = max(0, start - 3), min(len(self.keys), start + n + 3)
            matcher = difflib.SequenceMatcher(None, keys, self.keys[lo:hi], autojunk=False)
            blocks = [b for b in matcher.get_matching_blocks() if b.size]
            if not blocks:
                continue
            w_lo, w_hi = lo + blocks[0].b, lo + blocks[-1].b + blocks[-1].size
            ratio = difflib.SequenceMatcher(None, keys, self.keys[w_lo:w_hi], autojunk=False).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, w_lo, w_hi)
        if best is None:
            return Missing(piece, "", ["none of its words occur in the source"])
        _, w_lo, w_hi = best
        window = self.tokens[w_lo:w_hi]
        closest = self.text[window[0].start:window[-1].end]
        words_piece = [piece[t.start:t.end] for t in tokenize(piece)]
        words_source = [self.text[t.start:t.end] for t in window]
        return Missing(piece, closest, describe_differences(words_piece, words_source))

    def check(self, wording: str) -> QuoteResult:
        match = self.find(wording)
        if isinstance(match, Found):
            return QuoteResult(True, self.context(match.spans), self.text_fragment(match.spans))
        return QuoteResult(False, [], "", match)

    def sentences(self) -> list[tuple[int, int]]:
        if self._sentences is None:
            bounds, start = [], 0
            for match in _SENTENCE_END.finditer(self.text):
                if match.start() > start:
                    bounds.append((start, match.start()))
                start = match.end()
            if start < len(self.text):
                bounds.append((start, len(self.text)))
            self._sentences = bounds
        return self._sentences

    def context(self, spans: list[tuple[int, int]]) -> list[Segment]:
        """The sentence before, the quoted sentence(s) and the sentence after, quote marked."""
        sentences = self.sentences()
        first = next((i for i, (s, e) in enumerate(sentences) if e > spans[0][0]), 0)
        last = next((i for i, (s, e) in enumerate(sentences) if e >= spans[-1][1]), len(sentences) - 1)
        lo = sentences[max(0, first - 1)][0]
        hi = sentences[min(len(sentences) - 1, last + 1)][1]
        segments, at = [], lo
        for start, end in spans:
            if start > at:
                segments.append(Segment(_flat(self.text[at:start]), False))
            segments.append(Segment(_flat(self.text[start:end]), True))
            at = end
        if hi > at:
            segments.append(Segment(_flat(self.text[at:hi]), False))
        return segments

    def text_fragment(self, spans: list[tuple[int, int]]) -> str:
        """A URL text fragment (#:~:text=start,end) that highlights the quote on the original page."""
        start, end = spans[0][0], spans[-1][1]
        words = [t for t in self.tokens if start <= t.start and t.end <= end]
        if len(words) <= 8:
            return "#:~:text=" + _encode(self.text[start:end])
        head = self.text[words[0].start:words[3].end]
        tail = self.text[words[-4].start:words[-1].end]
        return "#:~:text=" + _encode(head) + "," + _encode(tail)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _encode(text: str) -> str:
    # '-', ',' and '&' are syntax inside a text directive and must be escaped
    return _percent(_flat(text), safe="").replace("-", "%2D")


def describe_differences(quoted: list[str], printed: list[str]) -> list[str]:
    """Word-level differences between the quoted words and the source's, readable."""
    matcher = difflib.SequenceMatcher(None, [_key(w) for w in quoted], [_key(w) for w in printed],
                                      autojunk=False)
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    moved_ours = sorted(_key(w) for op in opcodes for w in quoted[op[1]:op[2]])
    moved_theirs = sorted(_key(w) for op in opcodes for w in printed[op[3]:op[4]])
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
    ta, tb = tokenize(a), tokenize(b)
    matcher = difflib.SequenceMatcher(None, [t.key for t in ta], [t.key for t in tb], autojunk=False)
    differs_a, differs_b = set(), set()
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            differs_a.update(range(a1, a2))
            differs_b.update(range(b1, b2))
    return _segments(a, ta, differs_a), _segments(b, tb, differs_b)


def _segments(text: str, tokens: list[Token], marked: set[int]) -> list[Segment]:
    segments: list[Segment] = []
    at = 0

    def add(piece: str, flag: bool) -> None:
        if not piece:
            return
        if segments and segments[-1].marked == flag:
            segments[-1].text += piece
        else:
            segments.append(Segment(piece, flag))

    for i, token in enumerate(tokens):
        gap = text[at:token.start]
        # a gap between two marked words is part of the marked run
        add(gap, i in marked and (i - 1) in marked)
        add(text[token.start:token.end], i in marked)
        at = token.end
    add(text[at:], False)
    return segments
