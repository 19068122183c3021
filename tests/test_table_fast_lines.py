"""FastTree and FastPadding (reporters/fast_lines.py) against Rich's Tree and Padding: the same segments,
so the same bytes, for any tree or padding.

Labels are generated of every kind fast_lines treats apart (one line that fits, lines that wrap, newlines,
tabs, wide and zero-width characters, joiners, empty labels, nested spans, justification, other ends,
no_wrap and overflow, plain strings and other renderables); trees with node and guide styles, collapsed
nodes and a hidden root; paddings of a Text or a Group, styled, expanded or not. Each is rendered bare and
in a panel, with and without colour, at several widths.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from nhiaudit.reporters.fast_lines import FastPadding, FastTree

WIDTHS = (1, 7, 20, 40, 80, 133)
STYLES = ("", "bold", "dim", "red", "bold white on red", "magenta", "italic", "on blue", "underline2")
PIECES = st.one_of(
    st.text(alphabet="abcdefghij ", max_size=12),
    st.sampled_from(["", " ", "  ", "\n", "\t", "漢字", "🦜", "e\u0301", "\u200d", "👩\u200d💻", "✔\ufe0f",
                     "\x1b", "arn:aws:iam::111122223333:role/a-very-long-role-name-without-spaces",
                     "[bold]not markup[/bold]", "word " * 12]),
)


@st.composite
def labels(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["text"] * 8 + ["str", "panel", "subclass"]))
    if kind == "str":  # Rich parses a plain str as markup: only harmless text here
        return draw(st.text(alphabet="abc xyz", max_size=30))
    if kind == "panel":
        return Panel(Text(draw(PIECES)))
    parts = draw(st.lists(st.tuples(PIECES, st.sampled_from(STYLES)), max_size=5))
    text = Text.assemble(*parts, style=draw(st.sampled_from(STYLES)),
                         justify=draw(st.sampled_from([None, None, None, "default", "left", "center", "right",
                                                       "full"])),
                         overflow=draw(st.sampled_from([None, None, "fold", "crop", "ellipsis", "ignore"])),
                         no_wrap=draw(st.sampled_from([None, None, True, False])),
                         end=draw(st.sampled_from(["\n"] * 6 + ["", "!\n"])))
    for _ in range(draw(st.integers(0, 2))):  # spans over others: nested or overlapping
        start = draw(st.integers(0, len(text)))
        text.stylize(draw(st.sampled_from(STYLES[1:])), start, draw(st.integers(start, len(text) + 2)))
    if kind == "subclass":
        return type("MyText", (Text,), {})(text.plain, style=text.style, spans=text.spans)
    return text


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Tree:
    tree = Tree(draw(labels()), style=draw(st.sampled_from(["tree", "tree", "on blue", "bold"])),
                guide_style=draw(st.sampled_from(["tree.line", "tree.line", "bold", "underline2", "red"])),
                expanded=draw(st.sampled_from([True, True, True, False])),
                hide_root=depth == 0 and draw(st.booleans()))
    if depth < 3:
        tree.children = draw(st.lists(trees(depth + 1), max_size=4 - depth))
    return tree


def fast_copy(tree: Tree) -> FastTree:
    """The same tree with a FastTree root (Rich walks the children as data)."""
    fast = FastTree(tree.label, style=tree.style, guide_style=tree.guide_style, expanded=tree.expanded,
                    highlight=tree.highlight, hide_root=tree.hide_root)
    fast.children = tree.children
    return fast


def console(width: int, color: bool) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=color, color_system="standard" if color else None,
                   no_color=not color, highlight=False, soft_wrap=False, legacy_windows=False)


def printed(renderable: object, width: int, color: bool) -> str:
    out = console(width, color)
    out.print(renderable)
    return out.file.getvalue()  # type: ignore[attr-defined]


def assert_prints_alike(fast: object, rich: object, wraps: tuple[Callable[[object], object], ...]) -> None:
    """`fast` and `rich`, each inside every wrap, print the same bytes at every width, with and without colour."""
    for width in WIDTHS:
        for color in (False, True):
            for wrap in wraps:
                assert printed(wrap(fast), width, color) == printed(wrap(rich), width, color), (width, color)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tree=trees())
def test_fast_tree_prints_the_bytes_of_rich_tree(tree: Tree) -> None:
    assert_prints_alike(fast_copy(tree), tree, (lambda r: r, lambda r: Panel(Group(r, Text("after")))))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tree=trees(), width=st.sampled_from(WIDTHS), ascii_only=st.booleans(), legacy_windows=st.booleans(),
       justify=st.sampled_from([None, None, "left", "center"]))
@example(tree=Tree(Text("abc", style="on blue")), width=20, ascii_only=False, legacy_windows=False, justify="left")
def test_fast_tree_yields_the_segments_of_rich_tree(tree: Tree, width: int, ascii_only: bool,
                                                    legacy_windows: bool, justify: str | None) -> None:
    """Segment for segment, also for the guides of an ASCII or legacy Windows console and a justified print."""
    out = console(width, color=True)
    options = dataclasses.replace(out.options, encoding="ascii" if ascii_only else "utf-8",
                                  legacy_windows=legacy_windows, justify=justify)
    assert list(out.render(fast_copy(tree), options)) == list(out.render(tree, options))


def test_labels_that_fit_wrap_or_break_lines() -> None:
    """The kinds of label the table draws, one by one: styled runs, a wrapped message, a line break, empty."""
    tree = Tree(Text.assemble(("who: ", "bold"), "svc ", ("[aws] arn:aws:iam::111122223333:role/svc", "dim")))
    tree.add(Text("with: ", style="bold") + Text(""))
    tree.add(Text.assemble(("HIGH", "bold red"), " ", ("rule-id", "dim"), "\n", "a message " * 9))
    tree.add(Text(""))
    tree.add(Text("漢字🦜 wide " * 5, style="magenta")).add(Text("deep"))
    for width in (10, 40, 80):
        for color in (False, True):
            assert printed(fast_copy(tree), width, color) == printed(tree, width, color)


def test_a_label_with_a_link_keeps_its_link_ids() -> None:
    """Rich gives the runs of a label with the same link style one link id (ids count up: compared by
    order of first appearance)."""
    label = Text("before middle after", style="link https://example.com/")
    label.stylize("bold", 7, 13)
    tree = Tree("root")
    tree.add(label)

    def link_ids(text: str) -> list[int]:
        ids = re.findall(r"\x1b]8;id=(\w+);", text)
        return [ids.index(i) for i in ids]

    assert link_ids(printed(fast_copy(tree), 80, color=True)) == link_ids(printed(tree, 80, color=True)) == [0, 1, 0]


@st.composite
def paddings(draw: st.DrawFn) -> Padding:
    texts = draw(st.lists(labels(), max_size=4))
    inside = texts[0] if len(texts) == 1 and draw(st.booleans()) else Group(*texts)
    pad = draw(st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(0, 1), st.integers(0, 4)))
    return Padding(inside, pad, style=draw(st.sampled_from(["none", "none", "on blue", "bold"])),
                   expand=draw(st.booleans()))


def fast_padding(padding: Padding) -> FastPadding:
    return FastPadding(padding.renderable, (padding.top, padding.right, padding.bottom, padding.left),
                       style=padding.style, expand=padding.expand)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(padding=paddings())
def test_fast_padding_prints_the_bytes_of_rich_padding(padding: Padding) -> None:
    """Under a heading as in a finding block, in a panel, and measured by an outer padding as in `diff`."""
    assert_prints_alike(fast_padding(padding), padding,
                        (lambda r: Group(Text("HIGH  rule-id"), r), Panel,
                         lambda r: Padding(Group(Text("x"), r), (0, 0, 1, 2), expand=False)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(padding=paddings(), width=st.sampled_from(WIDTHS), justify=st.sampled_from([None, None, "left"]),
       height=st.sampled_from([None, None, 3]))
@example(padding=Padding(Text("abc", style="on blue"), (0, 0, 0, 2)), width=20, justify="left", height=None)
@example(padding=Padding(Group(Text("abc"), Text("")), 1), width=20, justify=None, height=3)
@example(padding=Padding(Text("\x1b "), 0, expand=False), width=1, justify=None, height=None)
def test_fast_padding_yields_the_segments_of_rich_padding(padding: Padding, width: int, justify: str | None,
                                                          height: int | None) -> None:
    out = console(width, color=True)
    options = dataclasses.replace(out.options, justify=justify, height=height)
    assert list(out.render(fast_padding(padding), options)) == list(out.render(padding, options))
