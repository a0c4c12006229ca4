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
from typing import Callable, List, Optional, Sequence, Tuple, Union

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
    layer (values are counts). `key` names its CSS class.

    A line may mark values as not `solid` (too little traffic to trust: drawn as a hollow
    marker off the line, and left out of the axis range) and carry a `band` of (low, high)
    per value (a confidence interval, drawn as a shaded area behind the line)."""

    key: str
    label: str
    values: Sequence[Optional[float]]
    solid: Optional[Sequence[bool]] = None
    band: Optional[Sequence[Optional[Tuple[float, float]]]] = None
    #: the marker shape, so lines on top of each other stay apart: circle, square or diamond
    marker: str = "circle"

    def is_solid(self, i: int) -> bool:
        return self.solid is None or bool(self.solid[i])


@dataclass(frozen=True)
class Threshold:
    """A horizontal rule on a rate chart; `key` names its CSS class (`th-<key>`)."""

    value: float
    label: str
    key: str = "warn"


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


def _no_data(frame: Frame, text: str, boxed: bool = False) -> str:
    """The message of an empty chart, centred; `boxed` puts it on a plate of the card's colour
    so that rules behind it never strike through it."""
    x, y = (frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2
    plate = ""
    if boxed:
        half = min((frame.x1 - frame.x0) / 2 - 4, 8 + 6 * len(text))
        plate = (f'<rect class="plate" x="{fmt(x - half)}" y="{fmt(y - 16)}" width="{fmt(2 * half)}" '
                 f'height="32" rx="4"/>')
    return f'{plate}<text class="empty" x="{fmt(x)}" y="{fmt(y)}">{esc(text)}</text>'


def _marker(shape: str, x: float, y: float, solid: bool, tip: str) -> str:
    """One data point: filled on a line, hollow (`class="weak"`) where the volume is too small."""
    cls = "" if solid else ' class="weak"'
    inner = f"<title>{esc(tip)}</title>"
    if shape == "square":
        return (f'<rect{cls} x="{fmt(x - 3)}" y="{fmt(y - 3)}" width="6" height="6">{inner}</rect>')
    if shape == "diamond":
        return (f'<path{cls} d="M{fmt(x)} {fmt(y - 4)}L{fmt(x + 4)} {fmt(y)}L{fmt(x)} {fmt(y + 4)}'
                f'L{fmt(x - 4)} {fmt(y)}Z">{inner}</path>')
    return f'<circle{cls} cx="{fmt(x)}" cy="{fmt(y)}" r="3.2">{inner}</circle>'


def band_paths(band: Sequence[Optional[Tuple[float, float]]], xs: Sequence[float],
               y_of: Callable[[float], float]) -> List[str]:
    """Closed areas between the highs and the lows of each run of consecutive band values."""
    runs: List[List[int]] = []
    for i, pair in enumerate(band):
        if pair is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    paths = []
    for run in runs:
        if len(run) == 1:  # one day alone: a short bar of its interval
            i = run[0]
            low, high = band[i]  # type: ignore[misc]
            x = xs[i]
            paths.append(f"M{fmt(x - 3)} {fmt(y_of(high))}L{fmt(x + 3)} {fmt(y_of(high))}"
                         f"L{fmt(x + 3)} {fmt(y_of(low))}L{fmt(x - 3)} {fmt(y_of(low))}Z")
            continue
        top = [(xs[i], y_of(band[i][1])) for i in run]  # type: ignore[index]
        bottom = [(xs[i], y_of(band[i][0])) for i in reversed(run)]  # type: ignore[index]
        points = top + bottom
        paths.append("M" + "L".join(f"{fmt(x)} {fmt(y)}" for x, y in points) + "Z")
    return paths


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str,
    no_data: str,
    value_text: Callable[[float], str],
    thresholds: Sequence[Union[Threshold, Tuple[float, str]]] = (),
    lo: Optional[float] = None,
    too_little: str = "",
    frame: Frame = Frame(),
) -> str:
    """Rates over time: one line per series on a percentage axis from `lo` (by default
    `rate_floor` of the solid values and the thresholds) to 100 %.

    An empty chart draws no gridline or rule at all: its message is never struck through."""
    n = len(labels)
    rules = [t if isinstance(t, Threshold) else Threshold(t[0], t[1]) for t in thresholds]
    out = _open(title, ident, frame, "lines")
    solid_values = [v for s in series for i, v in enumerate(s.values) if v is not None and s.is_solid(i)]
    if lo is None:
        lo = rate_floor(solid_values, [t.value for t in rules])
    hi = 1.0
    if n == 0 or all(v is None for s in series for v in s.values):
        out.append(_no_data(frame, no_data))
        out.extend(_x_labels(labels, frame))
        out.append("</svg>")
        return "".join(out)
    steps = max(1, round((hi - lo) / 0.1))
    every = 1 if steps <= 5 else 2
    for k in range(0, steps + 1, every):
        value = lo + k * 0.1
        y = fmt(frame.y_of(value, lo, hi))
        out.append(f'<line class="grid" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="ylab" x="{fmt(frame.x0 - 6)}" y="{y}">{value * 100:.0f}%</text>')
    xs = [frame.x_center(i, n) for i in range(n)]

    def y_of(value: float) -> float:
        return frame.y_of(value, lo, hi)  # type: ignore[arg-type]

    for s in series:
        if s.band is not None:
            for d in band_paths(s.band, xs, y_of):
                out.append(f'<path class="band s-{esc(s.key)}" d="{d}"/>')
    for s in series:
        points = [None if v is None or not s.is_solid(i) else (xs[i], y_of(v)) for i, v in enumerate(s.values)]
        path = line_path(points)
        if path:
            out.append(f'<path class="line s-{esc(s.key)}" d="{path}"/>')
        out.append(f'<g class="dots s-{esc(s.key)}">')
        for i, v in enumerate(s.values):
            if v is not None:
                tip = f"{labels[i]} · {s.label}: {value_text(v)}"
                out.append(_marker(s.marker, xs[i], y_of(v), s.is_solid(i), tip))
        out.append("</g>")
    for rule in rules:  # over the lines: a rate running along a threshold must not hide it
        y = fmt(frame.y_of(rule.value, lo, hi))
        out.append(f'<line class="threshold th-{esc(rule.key)}" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" '
                   f'y1="{y}" y2="{y}"><title>{esc(rule.label)}</title></line>')
    if not solid_values:  # on its plate, over the rules
        out.append(_no_data(frame, too_little or no_data, boxed=True))
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
    """Counts over time: one bar per column, one layer (CSS class: its key) per series, bottom up.

    An empty chart draws its message alone, without gridlines through it."""
    n = len(labels)
    out = _open(title, ident, frame, "bars")
    totals = [sum((layer.values[i] or 0) for layer in layers) for i in range(n)]
    if not any(totals):
        out.append(_no_data(frame, no_data))
        out.extend(_x_labels(labels, frame))
        out.append("</svg>")
        return "".join(out)
    top, step = count_axis(max(totals, default=0))
    for k in range(round(top / step) + 1):
        value = k * step
        y = fmt(frame.y_of(value, 0, top))
        out.append(f'<line class="grid" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="ylab" x="{fmt(frame.x0 - 6)}" y="{y}">{compact(value)}</text>')
    slot = frame.slot(n)
    width = max(1.0, slot * 0.7)
    for i in range(n):
        base = 0.0
        x = frame.x_center(i, n) - width / 2
        for layer in layers:
            count = layer.values[i] or 0
            if count <= 0:
                continue
            y_top, y_bottom = frame.y_of(base + count, 0, top), frame.y_of(base, 0, top)
            base += count
            tip = f"{labels[i]} · {layer.label}: {value_text(count)}"
            out.append(f'<rect class="{esc(layer.key)}" x="{fmt(x)}" y="{fmt(y_top)}" width="{fmt(width)}" '
                       f'height="{fmt(max(y_bottom - y_top, 0.5))}"><title>{esc(tip)}</title></rect>')
    out.extend(_x_labels(labels, frame))
    out.append("</svg>")
    return "".join(out)
