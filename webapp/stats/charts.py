"""Charts and the map as inline SVG, drawn on the server: no JavaScript, no CDN, and
readable on an old phone. Every text is escaped here; the template marks the result
safe. Withheld values (None) are drawn as a hatched stub and named in the tooltip."""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from math import cos, radians

from django.utils.translation import gettext as _

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 16, 56
PATTERN = (
    '<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse"'
    ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#8a8a8a" stroke-width="2"/></pattern></defs>'
)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * step:
            return factor * step
    return 10.0 * step


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") if value >= 10 else f"{value:g}"


def bar_chart(
    *, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = ""
) -> str:
    """Stacked bars, one per label. A label whose values are withheld gets a hatched
    stub. The legend and a <title> per bar name every value."""
    count = max(len(labels), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    totals = [
        sum(s.values[i] or 0 for s in series)
        if all(s.values[i] is not None for s in series)
        else None
        for i in range(len(labels))
    ]
    top = _nice_max(max((t for t in totals if t is not None), default=0))
    slot = plot_w / count
    bar_w = max(min(slot * 0.7, 48), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="{chart_id}-t" class="chart" id="{chart_id}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        PATTERN.format(id=f"{chart_id}-hatch"),
    ]
    for step in range(5):  # grid lines and the axis
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d0d0"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="18"'
            f' fill="#333">{escape(_number(value))}</text>'
        )
    every = max(1, round(count / 6))  # at most ~6 labels under the axis (phones)
    withheld = _("withheld (fewer than k people)")
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        if totals[i] is None:
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - 12}" width="{bar_w:.1f}" height="12"'
                f' fill="url(#{chart_id}-hatch)"><title>{escape(label)}: '
                f"{escape(withheld)}</title></rect>"
            )
        else:
            y = TOP + plot_h
            for s in series:
                value = s.values[i] or 0
                h = plot_h * value / top
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
                    f' fill="{s.color}"><title>{escape(label)}, {escape(s.name)}:'
                    f" {escape(_number(value))}{escape(unit)}</title></rect>"
                )
        if i % every == 0:
            parts.append(
                f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 22}"'
                f' text-anchor="middle" font-size="18" fill="#333">{escape(label)}</text>'
            )
    x = LEFT
    for s in series:  # legend
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 20}" width="16" height="16" fill="{s.color}"/>'
            f'<text x="{x + 20}" y="{HEIGHT - 6}" font-size="18" fill="#1a1a1a">'
            f"{escape(s.name)}</text>"
        )
        x += 28 + 10 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def hex_map(
    *, map_id: str, title: str, features: Sequence[dict], places: Sequence[tuple[str, float, float]]
) -> str:
    """Unmet-demand hexagons (GeoJSON features, (lon, lat)) and the villages for
    orientation, in a simple local projection (x = lon x cos(mid latitude))."""
    rings = [f["geometry"]["coordinates"][0] for f in features]
    points = [p for ring in rings for p in ring] + [(lon, lat) for _n, lon, lat in places]
    if not points:
        return ""
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    shrink = cos(radians((south + north) / 2))
    span_x = max((east - west) * shrink, 0.02)
    span_y = max(north - south, 0.02)
    pad, width = 24, 720
    scale = (width - 2 * pad) / max(span_x, span_y * 1.2)
    height = int(span_y * scale + 2 * pad)

    def xy(lon: float, lat: float) -> str:
        x = pad + (lon - west) * shrink * scale
        y = pad + (north - lat) * scale
        return f"{x:.1f},{y:.1f}"

    most = max((f["properties"]["requests"] for f in features), default=1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="{map_id}-t" class="map" id="{map_id}">',
        f'<title id="{map_id}-t">{escape(title)}</title>',
        f'<rect width="{width}" height="{height}" fill="#f7f7f2"/>',
    ]
    for feature, ring in zip(features, rings, strict=True):
        requests = feature["properties"]["requests"]
        opacity = 0.25 + 0.7 * requests / most
        text = _("%(requests)s requests not served, %(people)s people") % feature["properties"]
        parts.append(
            f'<polygon class="cell" points="{" ".join(xy(*p) for p in ring)}"'
            f' fill="#c0392b" fill-opacity="{opacity:.2f}" stroke="#7b241c">'
            f"<title>{escape(text)}</title></polygon>"
        )
    for name, lon, lat in places:
        x, y = xy(lon, lat).split(",")
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="4" fill="#0b5394"/>'
            f'<text x="{float(x) + 7:.1f}" y="{float(y) + 4:.1f}" font-size="20"'
            f' fill="#1a1a1a">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
