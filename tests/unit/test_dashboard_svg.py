"""The dashboard's SVG charts: scales, paths, gaps, stacking, labels and escaping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import List, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.dashboard.svg import (
    Frame,
    Series,
    compact,
    count_axis,
    label_indices,
    line_chart,
    line_path,
    rate_floor,
    stacked_bars,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
LABELS = [f"11-{d:02d}" for d in range(1, 11)]


def parse(svg: str) -> ET.Element:
    """Every chart is well-formed XML (a browser would otherwise drop the whole drawing)."""
    return ET.fromstring(svg)


def rates_chart(values: List[Optional[float]], labels: Optional[List[str]] = None, **kw) -> ET.Element:
    labels = labels if labels is not None else LABELS[: len(values)]
    return parse(line_chart(labels, [Series("success", "success rate", values)], title="t", ident="c1",
                            no_data="no data", value_text=lambda v: f"{v:.0%}", **kw))


def test_line_path_moves_then_draws_and_a_gap_lifts_the_pen() -> None:
    assert line_path([(0, 1), (2, 3), None, (4, 5), (6, 7)]) == "M0 1L2 3M4 5L6 7"
    assert line_path([None, None]) == ""


def test_points_sit_on_the_scale() -> None:
    frame = Frame()
    root = rates_chart([0.9, 1.0, 0.95])
    circles = root.findall(".//svg:circle", NS)
    lo = rate_floor([0.9, 1.0, 0.95])
    assert lo == pytest.approx(0.8)
    ys = [float(c.get("cy")) for c in circles]
    assert ys[1] == pytest.approx(frame.y1)  # 100% at the top
    assert ys[0] == pytest.approx(frame.y_of(0.9, lo, 1.0), abs=0.06)
    xs = [float(c.get("cx")) for c in circles]
    assert xs == sorted(xs) and xs[0] == pytest.approx(frame.x_center(0, 3), abs=0.06)


def test_a_day_without_traffic_is_a_gap_not_a_zero() -> None:
    root = rates_chart([0.9, None, 0.95, 0.96])
    path = root.find(".//svg:path", NS).get("d")
    assert path.count("M") == 2 and path.count("L") == 1
    assert len(root.findall(".//svg:circle", NS)) == 3  # the lone first point still shows


def test_no_data_at_all_says_so_and_draws_no_line() -> None:
    root = rates_chart([None, None])
    assert root.find(".//svg:path", NS) is None
    assert any(t.text == "no data" for t in root.iter("{http://www.w3.org/2000/svg}text"))


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=60))
def test_every_point_is_inside_the_plot(values: List[Optional[float]]) -> None:
    frame = Frame()
    root = rates_chart(values, labels=[str(i) for i in range(len(values))])
    for c in root.findall(".//svg:circle", NS):
        assert frame.x0 <= float(c.get("cx")) <= frame.x1
        assert frame.y1 - 0.06 <= float(c.get("cy")) <= frame.y0 + 0.06


@pytest.mark.parametrize(("values", "floor"), [
    ([0.99, 0.97], 0.9), ([0.93], 0.9), ([0.65, 0.95], 0.6), ([0.01], 0.0), ([], 0.0), ([1.0], 0.9),
])
def test_rate_floor_is_a_round_gridline_below_the_data(values: List[float], floor: float) -> None:
    assert rate_floor(values) == pytest.approx(floor)


def test_threshold_line_is_drawn_and_widens_the_axis() -> None:
    root = rates_chart([0.99, 0.98], thresholds=[(0.7, "critical 70%")])
    line = root.find(".//svg:line[@class='threshold th-warn']", NS)
    assert line is not None and line.find("svg:title", NS).text == "critical 70%"
    assert {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")} >= {"60%", "100%"}


def test_a_threshold_is_drawn_over_the_lines_so_a_line_on_it_cannot_hide_it() -> None:
    """A delivery rate of 89.6 % runs along the 90 % warning line: the rule comes after the lines
    in the drawing (on top), so its dash stays visible."""
    markup = line_chart(["a", "b"], [Series("delivery", "delivery rate", [0.896, 0.9])], title="t", ident="r1",
                        no_data="none", value_text=str, thresholds=[(0.9, "success warning 90%")])
    assert markup.index('class="line s-delivery"') < markup.index('class="threshold')
    assert markup.index('class="dots s-delivery"') < markup.index('class="threshold')


def test_stacked_bars_stack_bottom_up_in_layer_order() -> None:
    layers = [Series("f0", "internal", [10, 0]), Series("f1", "invalid", [30, 5])]
    frame = Frame()
    root = parse(stacked_bars(["a", "b"], layers, title="t", ident="b1", no_data="none", value_text=str))
    rects = root.findall(".//svg:rect", NS)
    assert [r.get("class") for r in rects] == ["f0", "f1", "f1"]  # a zero layer draws nothing
    first, second = rects[0], rects[1]
    top, _ = count_axis(40)
    assert float(first.get("y")) + float(first.get("height")) == pytest.approx(frame.y0, abs=0.1)
    assert float(second.get("y")) + float(second.get("height")) == pytest.approx(float(first.get("y")), abs=0.1)
    stacked = float(first.get("height")) + float(second.get("height"))
    assert stacked == pytest.approx(40 / top * (frame.y0 - frame.y1), abs=0.2)
    assert "a · invalid: 30" in second.find("svg:title", NS).text


def test_bars_without_failures_say_so() -> None:
    root = parse(stacked_bars(["a"], [Series("f0", "x", [0])], title="t", ident="b", no_data="none", value_text=str))
    assert root.find(".//svg:rect", NS) is None
    assert any(t.text == "none" for t in root.iter("{http://www.w3.org/2000/svg}text"))


@pytest.mark.parametrize(("peak", "top", "step"), [(0, 1, 1), (3, 3, 1), (40, 40, 10), (483, 500, 100),
                                                    (1337, 1500, 500), (99999, 100000, 20000), (7, 8, 2)])
def test_count_axis_has_round_steps(peak: float, top: float, step: float) -> None:
    assert count_axis(peak) == (top, step)


@given(st.integers(0, 10**9))
def test_count_axis_covers_the_peak_in_a_few_whole_steps(peak: int) -> None:
    top, step = count_axis(peak)
    assert top >= peak and top / step == int(top / step) and 1 <= top / step <= 6


def test_compact_numbers() -> None:
    assert [compact(v) for v in (0, 950, 1000, 1250, 35000, 1_500_000)] == ["0", "950", "1k", "1.2k", "35k", "1.5M"]


@pytest.mark.parametrize(("n", "expected"), [(0, []), (3, [0, 1, 2]), (30, [4, 9, 14, 19, 24, 29]),
                                             (24, [3, 7, 11, 15, 19, 23])])
def test_x_labels_are_few_evenly_spaced_and_end_on_the_last_column(n: int, expected: List[int]) -> None:
    assert label_indices(n) == expected


def test_untrusted_text_is_escaped_in_titles_and_labels() -> None:
    evil = '<script>alert(1)</script>"&'
    svg = line_chart([evil], [Series("success", evil, [0.5])], title=evil, ident='x"y', no_data=evil,
                     value_text=lambda v: evil)
    assert "<script>" not in svg and 'x"y' not in svg
    root = parse(svg)  # still well-formed
    assert evil in root.find("svg:title", NS).text  # the text survives, as text


def test_series_key_names_the_css_class_and_no_style_attribute_is_used() -> None:
    svg = line_chart(LABELS[:2], [Series("receipt", "receipt", [0.9, 0.8])], title="t", ident="i", no_data="n",
                     value_text=str)
    assert 'class="line s-receipt"' in svg
    assert not re.search(r"\sstyle=", svg)
