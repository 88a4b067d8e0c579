"""A timeline: items grouped by the month of their date, in order, undated ones last."""

from __future__ import annotations

from typing import Any

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def by_month(items: list[Any]) -> list[tuple[str, str, list[Any]]]:
    """(month key 'YYYY-MM', label 'June 2020', items in date order) per month, oldest first;
    undated items come last under the key '' and the label 'Undated'."""
    groups: dict[str, list[Any]] = {}
    for item in sorted(items, key=lambda i: (i.date is None, i.date, i.title)):
        key = f"{item.date.year:04d}-{item.date.month:02d}" if item.date else ""
        groups.setdefault(key, []).append(item)
    return [(key, f"{MONTHS[int(key[5:]) - 1]} {key[:4]}" if key else "Undated", members)
            for key, members in groups.items()]
