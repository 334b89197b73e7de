"""Distances on the Earth, for watchlist areas: from a place to a point or to a line (a border).

Great-circle distance between points (haversine); to a line, the nearest point of each segment
in a local flat projection around the place, which is accurate to well under 1% at the few
hundred kilometres a watchlist spans.
"""

from __future__ import annotations

from itertools import pairwise
from math import asin, cos, radians, sin, sqrt

from newswire.models import Area

EARTH_KM = 6371.0088


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, in km."""
    lat1, lon1, lat2, lon2 = map(radians, (*a, *b))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * asin(min(1.0, sqrt(h)))


def km_to_line(point: tuple[float, float], line: tuple[tuple[float, float], ...]) -> float:
    """Distance from a point to the nearest point of a line through (lat, lon) points, in km."""
    if len(line) == 1:
        return km_between(point, line[0])
    return min(_km_to_segment(point, a, b) for a, b in pairwise(line))


def _km_to_segment(
    point: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> float:
    scale = cos(radians(point[0]))

    def flat(p: tuple[float, float]) -> tuple[float, float]:
        return ((p[1] - point[1]) * scale, p[0] - point[0])

    (ax, ay), (bx, by) = flat(a), flat(b)
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
    nearest_lon = point[1] + (ax + t * dx) / scale
    nearest_lat = point[0] + ay + t * dy
    return km_between(point, (nearest_lat, nearest_lon))


def within(area: Area, lat: float, lon: float) -> bool:
    """Is (lat, lon) within the area's distance of its point or line?"""
    return km_to_line((lat, lon), area.points) <= area.km
