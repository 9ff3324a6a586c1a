"""Read the Marp deck as slides: title, visible text, speaker notes (what is said, and how long).

Marp splits slides on `---` lines after the front matter; HTML comments are speaker notes,
except directives such as `<!-- _class: tasks -->`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.docs import markdown_refs as md

WORDS_PER_MINUTE = 130
TALK_MINUTES = 15
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_DIRECTIVE = re.compile(r"\A\s*_?[a-zA-Z]+\s*:\s*[^\n]*\s*\Z")
_WORD = re.compile(r"[A-Za-z0-9][\w'.-]*")


@dataclass(frozen=True)
class Slide:
    """One slide: its title, its Markdown without notes, its speaker notes."""

    number: int
    title: str
    body: str
    notes: str


def slides(text: str) -> list[Slide]:
    """The deck's slides in order (fenced code may contain `---` without splitting)."""
    body = _FRONT_MATTER.sub("", text, count=1)
    fences: list[str] = []

    def hide(match: re.Match[str]) -> str:
        fences.append(match.group(0))
        return f"\0{len(fences) - 1}\0"

    hidden = re.sub(r"^```.*?^```$", hide, body, flags=re.MULTILINE | re.DOTALL)
    found: list[Slide] = []
    for part in re.split(r"^---$", hidden, flags=re.MULTILINE):
        if not part.strip():
            continue
        chunk = re.sub(r"\0(\d+)\0", lambda m: fences[int(m.group(1))], part)
        comments = [c.strip() for c in _COMMENT.findall(chunk)]
        notes = "\n".join(c for c in comments if not _DIRECTIVE.match(c))
        visible = _COMMENT.sub("", chunk)
        title = re.search(r"^#{1,2} (.+)$", md.strip_fences(visible), flags=re.MULTILINE)
        found.append(Slide(len(found) + 1, title.group(1) if title else "", visible, notes))
    return found


def words(text: str) -> int:
    """Spoken words in a text."""
    return len(_WORD.findall(text))


def spoken_minutes(deck: list[Slide]) -> float:
    """How long the speaker notes take to say at a steady pace."""
    return sum(words(s.notes) for s in deck) / WORDS_PER_MINUTE


def dot_edge_nodes(source: str) -> list[str]:
    """Nodes of a Graphviz diagram's visible edges, in the order the edges are written."""
    nodes: list[str] = []
    for statement in re.split(r"[;\n]", re.sub(r"//[^\n]*", "", source)):
        if "->" not in statement or "style=invis" in statement:
            continue
        chain = re.sub(r"\[[^\]]*\]", "", statement)
        nodes += [part.strip().strip('"') for part in chain.split("->")]
    return nodes
