"""A line chart as inline SVG text: no plotting library, nothing fetched, text a browser renders.

One chart per curve (small multiples, as a training dashboard shows them): the polyline of
``(step, value)`` points scaled into the plot area, the first and last step on the x-axis, the
minimum and maximum value on the y-axis, and the last value in the title.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 320, 180
LEFT, RIGHT, TOP, BOTTOM = 58, 10, 26, 24  # margins in px


def fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def _thin(points: list[tuple[float, float]], most: int = 600) -> list[tuple[float, float]]:
    """At most ``most`` points, evenly picked (always the first and the last): pages stay small."""
    if len(points) <= most:
        return points
    idx = sorted({round(i * (len(points) - 1) / (most - 1)) for i in range(most)})
    return [points[i] for i in idx]


def line_chart(name: str, points: list[tuple[float, float]]) -> str:
    """An ``<svg>`` element of one curve; ``points`` sorted by step, finite values."""
    pts = _thin(points)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        pad = abs(y0) * 0.05 or 0.5
        y0, y1 = y0 - pad, y1 + pad
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * ph

    coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
    mark = f'<circle cx="{sx(xs[-1]):.1f}" cy="{sy(ys[-1]):.1f}" r="2.5" fill="#1f77b4"/>'
    line = f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{coords}"/>' if len(pts) > 1 else ""
    title = f"{name} (last {fmt(points[-1][1])} at step {fmt(points[-1][0])})"
    low, high = min(p[1] for p in points), max(p[1] for p in points)
    return "".join(
        [
            f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(name)}">',
            f"<title>{escape(title)}</title>",
            f'<text x="{LEFT}" y="15" font-size="12" font-weight="bold">{escape(name)}</text>',
            f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>',
            f'<text x="{LEFT - 4}" y="{TOP + 9}" font-size="10" text-anchor="end">{escape(fmt(high))}</text>',
            f'<text x="{LEFT - 4}" y="{TOP + ph}" font-size="10" text-anchor="end">{escape(fmt(low))}</text>',
            f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="10">{escape(fmt(xs[0]))}</text>',
            f'<text x="{LEFT + pw}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
            f"step {escape(fmt(xs[-1]))}</text>",
            line,
            mark,
            "</svg>",
        ]
    )
