"""Two small SVG charts, written as text: rates over time as lines, counts as stacked bars.

Pure functions of their data, no script and no style attribute: colours come from CSS
classes (`s-<key>` for a line, `f<i>` for a bar layer) that the page's one `<style>` block
defines, so a strict Content-Security-Policy holds. Every text that reaches the markup
goes through `esc`. Points and bars carry a `<title>`, which browsers show on hover and
screen readers read, without a line of script.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable, List, Optional, Sequence, Tuple

#: the drawing's own units; the page scales it to its column (`width: 100%`)
WIDTH, HEIGHT = 560, 220
#: plot margins: left holds the y labels, bottom the x labels
LEFT, RIGHT, TOP, BOTTOM = 54, 12, 12, 28
#: at most this many x labels, so they never overlap on a phone
MAX_X_LABELS = 7


def esc(text: object) -> str:
    """Text for SVG/HTML content and attribute values (quotes included)."""
    return escape(str(text), quote=True)


def fmt(value: float) -> str:
    """A coordinate: one decimal, no trailing `.0` (keeps the markup short and stable)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Series:
    """One line (values are fractions 0..1, None where there is nothing to divide) or one bar
    layer (values are counts). `key` names its CSS class."""

    key: str
    label: str
    values: Sequence[Optional[float]]


@dataclass(frozen=True)
class Frame:
    """The plot area inside the drawing."""

    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right: float = RIGHT
    top: float = TOP
    bottom: float = BOTTOM

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        """The bottom of the plot (SVG y grows downwards)."""
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top

    def slot(self, n: int) -> float:
        """Width of one of `n` equal columns."""
        return (self.x1 - self.x0) / max(n, 1)

    def x_center(self, i: int, n: int) -> float:
        """Centre of column `i` of `n`: lines and bars of the same day line up."""
        return self.x0 + (i + 0.5) * self.slot(n)

    def y_of(self, value: float, lo: float, hi: float) -> float:
        span = hi - lo
        share = 0.0 if span <= 0 else (value - lo) / span
        share = min(1.0, max(0.0, share))
        return self.y0 - share * (self.y0 - self.y1)


def rate_floor(values: Sequence[Optional[float]], thresholds: Sequence[float] = ()) -> float:
    """The lowest gridline of a rate chart: a multiple of 10% under the lowest value (and
    threshold) with a little room, at most 90% so the axis always spans 10 points."""
    seen = [v for v in values if v is not None] + list(thresholds)
    if not seen:
        return 0.0
    low = min(seen) - 0.02
    return max(0.0, min(0.9, math.floor(low * 10 + 1e-9) / 10))


#: a count axis has at most this many steps between gridlines
MAX_STEPS = 6


def count_axis(value: float, most: int = MAX_STEPS) -> Tuple[float, float]:
    """(top, step) of a count axis: the smallest step of 1, 2 or 5 times a power of ten that
    reaches `value` in at most `most` steps, and the top at a whole step."""
    if value <= 0:
        return 1.0, 1.0
    power = 10 ** math.floor(math.log10(value / most))
    for candidate in (power, 2 * power, 5 * power, 10 * power):
        step = max(1, candidate)
        if math.ceil(value / step - 1e-9) <= most:
            return float(math.ceil(value / step - 1e-9) * step), float(step)
    return float(10 * power * math.ceil(value / (10 * power))), float(10 * power)  # pragma: no cover


def compact(value: float) -> str:
    """Axis numbers: 950, 1.2k, 35k, 1.5M."""
    if value >= 1_000_000:
        text, unit = f"{value / 1_000_000:.1f}", "M"
    elif value >= 1000:
        text, unit = f"{value / 1000:.1f}", "k"
    else:
        return str(int(round(value)))
    return (text[:-2] if text.endswith(".0") else text) + unit


def label_indices(n: int, most: int = MAX_X_LABELS) -> List[int]:
    """Which of `n` columns get an x label: evenly spaced, the last one always."""
    if n <= 0:
        return []
    if n <= most:
        return list(range(n))
    step = math.ceil(n / most)
    picked = list(range(n - 1, -1, -step))[::-1]
    return picked


def line_path(points: Sequence[Optional[Tuple[float, float]]]) -> str:
    """`M x y L x y ...`; a None point breaks the line (a day without traffic is no zero)."""
    parts: List[str] = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        x, y = point
        parts.append(f"{'L' if pen_down else 'M'}{fmt(x)} {fmt(y)}")
        pen_down = True
    return "".join(parts)


def _open(title: str, ident: str, frame: Frame, kind: str) -> List[str]:
    return [
        f'<svg class="chart {kind}" viewBox="0 0 {fmt(frame.width)} {fmt(frame.height)}" '
        f'role="img" aria-labelledby="{esc(ident)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{esc(ident)}">{esc(title)}</title>',
    ]


def _x_labels(labels: Sequence[str], frame: Frame) -> List[str]:
    n = len(labels)
    y = fmt(frame.y0 + 18)
    return [f'<text class="xlab" x="{fmt(frame.x_center(i, n))}" y="{y}">{esc(labels[i])}</text>'
            for i in label_indices(n)]


def _no_data(frame: Frame, text: str) -> str:
    x, y = fmt((frame.x0 + frame.x1) / 2), fmt((frame.y0 + frame.y1) / 2)
    return f'<text class="empty" x="{x}" y="{y}">{esc(text)}</text>'


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str,
    no_data: str,
    value_text: Callable[[float], str],
    thresholds: Sequence[Tuple[float, str]] = (),
    frame: Frame = Frame(),
) -> str:
    """Rates over time: one line per series on a shared percentage axis."""
    n = len(labels)
    out = _open(title, ident, frame, "lines")
    values = [v for s in series for v in s.values]
    lo, hi = rate_floor(values, [t for t, _ in thresholds]), 1.0
    steps = round((hi - lo) / 0.1)
    every = 1 if steps <= 5 else 2
    for k in range(0, steps + 1, every):
        value = lo + k * 0.1
        y = fmt(frame.y_of(value, lo, hi))
        out.append(f'<line class="grid" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="ylab" x="{fmt(frame.x0 - 6)}" y="{y}">{value * 100:.0f}%</text>')
    for value, label in thresholds:
        y = fmt(frame.y_of(value, lo, hi))
        out.append(f'<line class="threshold" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" y1="{y}" y2="{y}">'
                   f'<title>{esc(label)}</title></line>')
    if all(v is None for v in values) or n == 0:
        out.append(_no_data(frame, no_data))
    for s in series:
        points = [None if v is None else (frame.x_center(i, n), frame.y_of(v, lo, hi))
                  for i, v in enumerate(s.values)]
        path = line_path(points)
        if path:
            out.append(f'<path class="line s-{esc(s.key)}" d="{path}"/>')
        out.append(f'<g class="dots s-{esc(s.key)}">')
        for i, point in enumerate(points):
            if point is not None:
                tip = f"{labels[i]} · {s.label}: {value_text(s.values[i])}"  # type: ignore[arg-type]
                out.append(f'<circle cx="{fmt(point[0])}" cy="{fmt(point[1])}" r="2.5">'
                           f'<title>{esc(tip)}</title></circle>')
        out.append("</g>")
    out.extend(_x_labels(labels, frame))
    out.append("</svg>")
    return "".join(out)


def stacked_bars(
    labels: Sequence[str],
    layers: Sequence[Series],
    *,
    title: str,
    ident: str,
    no_data: str,
    value_text: Callable[[float], str],
    frame: Frame = Frame(),
) -> str:
    """Counts over time: one bar per column, one layer (CSS class `f<i>`) per series, bottom up."""
    n = len(labels)
    out = _open(title, ident, frame, "bars")
    totals = [sum((layer.values[i] or 0) for layer in layers) for i in range(n)]
    top, step = count_axis(max(totals, default=0))
    for k in range(round(top / step) + 1):
        value = k * step
        y = fmt(frame.y_of(value, 0, top))
        out.append(f'<line class="grid" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="ylab" x="{fmt(frame.x0 - 6)}" y="{y}">{compact(value)}</text>')
    if not any(totals):
        out.append(_no_data(frame, no_data))
    slot = frame.slot(n)
    width = max(1.0, slot * 0.7)
    for i in range(n):
        base = 0.0
        x = frame.x_center(i, n) - width / 2
        for index, layer in enumerate(layers):
            count = layer.values[i] or 0
            if count <= 0:
                continue
            y_top, y_bottom = frame.y_of(base + count, 0, top), frame.y_of(base, 0, top)
            base += count
            tip = f"{labels[i]} · {layer.label}: {value_text(count)}"
            out.append(f'<rect class="f{index}" x="{fmt(x)}" y="{fmt(y_top)}" width="{fmt(width)}" '
                       f'height="{fmt(max(y_bottom - y_top, 0.5))}"><title>{esc(tip)}</title></rect>')
    out.extend(_x_labels(labels, frame))
    out.append("</svg>")
    return "".join(out)
