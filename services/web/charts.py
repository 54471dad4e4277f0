"""Charts drawn on the server as inline SVG with pygal (no script, nothing fetched at run
time: pygal's default tooltip script from the web is switched off). Inputs are the figures
the reporting API returns (percent text such as ``"35.9"``, or counts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pygal
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#8a96a3",
    colors=("#0b4f8a", "#1b7a3d", "#a86400", "#b3261e", "#6b4fa0"),
    font_family="Noto Sans, DejaVu Sans, Arial, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=15,
    title_font_size=18,
    value_font_size=15,
)
NO_DATA = "Chưa có số liệu"
"""What a chart without figures says (the pages' wording for an absent figure)."""
_COMMON = {
    "style": STYLE,
    "js": [],  # no tooltip script from a CDN
    "disable_xml_declaration": True,
    "explicit_size": False,
    "show_legend": True,
    "legend_at_bottom": True,
    "no_data_text": NO_DATA,  # pygal's own is "No data"
}


def _number(text: str | int | Decimal | None) -> float | None:
    return None if text in (None, "") else float(Decimal(str(text)))


def spider(axes: Sequence[str], series: Mapping[str, Sequence[str | None]], title: str) -> str:
    """A radar chart (the four perspectives of a plan, ``004 Phụ lục 4``) as an SVG string.

    Args:
        axes: axis labels, in order.
        series: ``{name: [percent text or None per axis]}`` (0–100; None: no figure).
        title: chart title.
    """
    chart = pygal.Radar(width=520, height=420, fill=True, range=(0, 100), title=title, **_COMMON)
    chart.x_labels = list(axes)
    for name, values in series.items():
        chart.add(name, [_number(v) for v in values])
    return str(chart.render(is_unicode=True))


def grade_bars(counts: Mapping[str, int], title: str) -> str:
    """Grade distribution A–D (people) as a bar chart SVG string."""
    chart = pygal.Bar(width=520, height=320, title=title, print_values=True, **_COMMON)
    chart.show_legend = False
    chart.y_labels = list(range(0, max([*counts.values(), 1]) + 1))
    chart.x_labels = list(counts)
    chart.add("Số người", [int(v) for v in counts.values()])
    return str(chart.render(is_unicode=True))


def ranking_bars(
    labels: Sequence[str], values: Sequence[str | None], title: str, *, percent: bool = True
) -> str:
    """Units compared on one axis (percent text 0–100, or counts when not ``percent``) as a
    horizontal bar chart SVG string."""
    chart = pygal.HorizontalBar(
        width=720,
        height=max(220, 34 * len(labels) + 90),
        title=title,
        print_values=True,
        **({"range": (0, 100)} if percent else {}),
        **_COMMON,
    )
    chart.show_legend = False
    chart.x_labels = list(labels)
    chart.add("%", [_number(v) for v in values])
    return str(chart.render(is_unicode=True))


def trend_line(labels: Sequence[str], values: Sequence[str | None], title: str) -> str:
    """A percent series over months (0–100; None: no figure) as a line chart SVG string."""
    chart = pygal.Line(width=520, height=300, title=title, range=(0, 100), **_COMMON)
    chart.show_legend = False
    chart.x_labels = list(labels)
    chart.add("%", [_number(v) for v in values])
    return str(chart.render(is_unicode=True))
