"""Rich renderables that make the same segments as Rich's, hence the same bytes, several times faster.

Rich renders every Text through Console.render_lines or Console.render: the Console/Styled plumbing,
Text.wrap (split, divide_line, divide, rstrip_end, justify, truncate), Text.join and Text.render, then
split_and_crop_lines, about 50 µs a Text. The terminal table draws a tree of a dozen labels per access path
(up to 200 per integration) and a block per finding outside one. Almost every such Text already fits its
width, where wrapping is the identity: _label_lines skips it there, makes Text.render's segments of each
line directly, and otherwise calls Text.wrap itself. What it cannot reproduce that way (another renderable,
a Text subclass, another end, nested spans, a line still too wide, a justified print) is left to Rich.

FastTree is rich.tree.Tree, FastPadding rich.padding.Padding, with their own rendering copied step for
step from Rich 15 but for the lines of their Text. tests/test_table_fast_lines.py compares them with Rich's
segment for segment and byte for byte on generated trees and paddings.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style, StyleStack
from rich.styled import Styled
from rich.text import Text
from rich.tree import Tree

# cell_len joins characters around these, so that a line's width is no longer the sum of its parts' widths,
# which Text.wrap and the cropping of lines measure: a label with one is left to Rich.
_JOINERS = ("\u200d", "\ufe0f")
_NEW_LINE = Segment.line()


def _loop_last(values: list[Tree]) -> Iterator[tuple[bool, Tree]]:
    last = len(values) - 1
    return ((i == last, value) for i, value in enumerate(values))


def _line_segments(console: Console, line: Text, null: Style) -> list[Segment] | None:
    """Text.render's segments for the characters of `line` within a Text that has spans, or None where its
    spans are not in order one after another (nested, overlapping) or a style is a link (Rich gives a label's
    segments one link id): then Rich renders the label. Text.render cuts a segment at every span's start and
    end and styles it with the styles over it, in span order, after the text's own style (a span of its own
    once joined into lines); spans in order, apart, put one span at most over any character."""
    plain = line.plain
    get_style = console.get_style
    combine = Style.combine
    base = (null, get_style(line.style, default=null)) if line.style else (null,)
    if base[-1].link:
        return None
    segments: list[Segment] = []
    position = 0
    for start, end, span_style in line.spans:
        over = get_style(span_style, default=null)
        if start < position or end < start or end > len(plain) or over.link:
            return None
        if start > position:
            segments.append(Segment(plain[position:start], combine(base)))
        if end > start:
            segments.append(Segment(plain[start:end], combine((*base, over))))
        position = end
    if position < len(plain):
        segments.append(Segment(plain[position:], combine(base)))
    return segments


def _label_lines(console: Console, options: ConsoleOptions, label: object, style: Style,
                 width: int) -> list[list[Segment]] | None:
    """Console.render_lines(Styled(label, style), options at `width`, pad=False), as Rich's Tree renders a
    label, or None where that is left to Rich (options.justify must be None: it pads lines).

    For a Text that is Text("\\n").join(label.wrap(...)).render(console, end="\\n"), styled and split at the
    newlines. The same is done here without the plumbing, and without wrapping where wrapping changes
    nothing: every line fits already and stays as it is (no tab to expand, default justification, nothing
    for rstrip_end)."""
    if type(label) is not Text or label.end != "\n" or width < 1:
        return None  # a subclass may render otherwise; another end adds to or removes the line; no room at all
    plain = label.plain
    if _JOINERS[0] in plain or _JOINERS[1] in plain:
        return None
    # Text.rstrip_end crops trailing spaces by characters, not cells: a line longer in characters than the
    # width (zero-width characters) is wrapped by Text.wrap too.
    if (label.justify in (None, "default") and "\t" not in plain
            and all(len(line) <= width and cell_len(line) <= width for line in plain.split("\n"))):
        lines = label.split("\n", allow_blank=True) if "\n" in plain else [label]
    else:
        # Text.__rich_console__'s wrapping, with the options it would take them from.
        tab_size = console.tab_size if label.tab_size is None else label.tab_size
        no_wrap = label.no_wrap if label.no_wrap is not None else options.no_wrap
        lines = list(label.wrap(console, width, justify=label.justify or options.justify or "default",
                                overflow=label.overflow or options.overflow or "fold", tab_size=tab_size or 8,
                                no_wrap=bool(no_wrap)))
        if any(cell_len(line.plain) > width for line in lines):
            return None  # to be cropped
    rendered: list[list[Segment]] = []
    if not any(line.style or line.spans for line in lines):
        # No span anywhere: Text.render makes one unstyled segment, which the newlines split; an empty line
        # then has no segment, unless it is the only line (the segment itself is kept, empty).
        rendered = [[Segment(line.plain)] if line.plain or len(lines) == 1 else [] for line in lines]
    else:
        null = Style.null()
        for line in lines:
            segments = _line_segments(console, line, null)
            if segments is None:
                return None
            rendered.append(segments)
    if style:  # Styled(label, style)
        add = style.__add__
        rendered = [[Segment(text, add(segment_style)) for text, segment_style, _ in line] for line in rendered]
    return rendered


class FastTree(Tree):
    """rich.tree.Tree with a faster rendering of its labels. Only the root needs to be a FastTree: the walk
    below reads the children as data (Tree.add makes plain Trees)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # From rich/tree.py (Rich 15), unchanged but for the label's lines (marked below) and for caching what
        # is a pure function of its arguments within one rendering: style lookups and styled guide prefixes.
        stack: list[Iterator[tuple[bool, Tree]]] = []
        pop = stack.pop
        push = stack.append

        known: dict[tuple[object, str | None], Style] = {}  # the same few style names on every node

        def get_style(name: str | Style, default: str | None = None) -> Style:
            style = known.get((name, default))
            if style is None:
                style = known[name, default] = console.get_style(name, default=default)
            return style

        null_style = Style.null()
        guide_style = get_style(self.guide_style, default="") or null_style
        SPACE, CONTINUE, FORK, END = range(4)

        def make_guide(index: int, style: Style) -> Segment:
            if options.ascii_only:
                line = self.ASCII_GUIDES[index]
            else:
                guide = 1 if style.bold else (2 if style.underline2 else 0)
                line = self.TREE_GUIDES[0 if options.legacy_windows else guide][index]
            return Segment(line, style)

        levels: list[Segment] = [make_guide(CONTINUE, guide_style)]
        push(_loop_last([self]))

        guide_style_stack = StyleStack(get_style(self.guide_style))
        style_stack = StyleStack(get_style(self.style))
        remove_guide_styles = Style(bold=False, underline2=False)
        fast = options.justify is None  # else Rich pads every line to the width
        styled_prefixes: dict[tuple[tuple[Segment, ...], Style], list[Segment]] = {}

        def styled_prefix(prefix: list[Segment], style: Style) -> list[Segment]:
            key = (tuple(prefix), style)
            cached = styled_prefixes.get(key)
            if cached is None:
                cached = styled_prefixes[key] = list(
                    Segment.apply_style(prefix, style.background_style, post_style=remove_guide_styles))
            return cached

        depth = 0
        while stack:
            stack_node = pop()
            try:
                last, node = next(stack_node)
            except StopIteration:
                levels.pop()
                if levels:
                    guide_style = levels[-1].style or null_style
                    levels[-1] = make_guide(FORK, guide_style)
                    guide_style_stack.pop()
                    style_stack.pop()
                continue
            push(stack_node)
            if last:
                levels[-1] = make_guide(END, levels[-1].style or null_style)

            guide_style = guide_style_stack.current + get_style(node.guide_style)
            style = style_stack.current + get_style(node.style)
            prefix = levels[(2 if self.hide_root else 1):]
            width = options.max_width - sum(level.cell_length for level in prefix)
            # The change: the label's lines from _label_lines, where it can make them.
            renderable_lines = _label_lines(console, options, node.label, style, width) if fast else None
            if renderable_lines is None:
                renderable_lines = console.render_lines(
                    Styled(node.label, style),
                    options.update(width=width, highlight=self.highlight, height=None),
                    pad=options.justify is not None,
                )

            if not (depth == 0 and self.hide_root):
                for first, line in ((i == 0, line) for i, line in enumerate(renderable_lines)):
                    if prefix:
                        yield from styled_prefix(prefix, style)
                    yield from line
                    yield _NEW_LINE
                    if first and prefix:
                        prefix[-1] = make_guide(SPACE if last else CONTINUE, prefix[-1].style or null_style)

            if node.expanded and node.children:
                levels[-1] = make_guide(SPACE if last else CONTINUE, levels[-1].style or null_style)
                levels.append(make_guide(END if len(node.children) == 1 else FORK, guide_style))
                style_stack.push(get_style(node.style))
                guide_style_stack.push(get_style(node.guide_style))
                push(_loop_last(node.children))
                depth += 1


def _text_lines(console: Console, options: ConsoleOptions, renderable: RenderableType,
                style: Style | None) -> list[list[Segment]] | None:
    """Console.render_lines(renderable, options, style=style, pad=True) for a Text or a Group of Texts, or
    None where _label_lines leaves one to Rich (or a height would add lines)."""
    if options.height is not None or options.justify is not None:
        return None
    texts = renderable.renderables if type(renderable) is Group else [renderable]
    width = options.max_width
    lines: list[list[Segment]] = []
    for text in texts:
        text_lines = _label_lines(console, options, text, Style.null(), width)
        if text_lines is None:
            return None
        lines += text_lines
    if style:
        add = style.__add__
        lines = [[Segment(text, add(segment_style)) for text, segment_style, _ in line] for line in lines]
    for line in lines:  # Segment.adjust_line_length: no line is too long here, a short one is padded
        length = sum(cell_len(segment.text) for segment in line)
        if length < width:
            line.append(Segment(" " * (width - length), style))
    return lines


class FastPadding(Padding):
    """rich.padding.Padding with a faster rendering of a Text or a Group of Texts inside."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # From rich/padding.py (Rich 15), unchanged but for the lines (marked below).
        style = console.get_style(self.style)
        if self.expand:
            width = options.max_width
        else:
            width = min(Measurement.get(console, options, self.renderable).maximum + self.left + self.right,
                        options.max_width)
        render_options = options.update_width(width - self.left - self.right)
        if render_options.height is not None:
            render_options = render_options.update_height(height=render_options.height - self.top - self.bottom)
        # The change: the lines from _text_lines, where it can make them.
        lines = _text_lines(console, render_options, self.renderable, style)
        if lines is None:
            lines = console.render_lines(self.renderable, render_options, style=style, pad=True)

        left = Segment(" " * self.left, style) if self.left else None
        right = [Segment(" " * self.right, style), Segment.line()] if self.right else [Segment.line()]
        blank_line: list[Segment] | None = None
        if self.top:
            blank_line = [Segment(f'{" " * width}\n', style)]
            yield from blank_line * self.top
        for line in lines:
            if left:
                yield left
            yield from line
            yield from right
        if self.bottom:
            blank_line = blank_line or [Segment(f'{" " * width}\n', style)]
            yield from blank_line * self.bottom
