"""The rule that keeps people from being singled out in published figures.

Pure functions over counts of people; `selectors.py` applies them to every table it
publishes, and docs/privacy-statistics.md explains the rule for readers. In short, with
k = STATS_K_ANONYMITY (default 5):

1. A table has rows (villages, periods, associations, services, map cells) that add up
   to its total. A row's *contributors* are the distinct people who asked for
   something in it.
2. Primary suppression: a row with 1 to k-1 contributors is withheld: none of its
   figures are shown. A row of 0 shows zeros.
3. Complementary suppression: the withheld rows together must have at least k
   contributors (so at least two rows), or the total minus the shown rows would give
   back a small row, or a small group. While they have fewer, the shown row with the
   fewest contributors (then the first by key) is withheld as well.
4. When the whole table has 1 to k-1 contributors, the total and every row are withheld.
5. Figures that count people (people served, of them elderly, with a managed profile)
   go through the same steps once more within the rows still shown, each figure on its
   own, counting the people that figure counts.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

Key = Hashable


@dataclass(frozen=True)
class Suppression:
    withheld: frozenset  # keys of withheld rows
    total_withheld: bool

    def shows(self, key: Key) -> bool:
        return not self.total_withheld and key not in self.withheld


def suppress(
    counts: Sequence[tuple[Key, int]],
    *,
    total: int,
    k: int,
    union_size: Callable[[frozenset], int],
    already: frozenset = frozenset(),
) -> Suppression:
    """Which rows to withhold. `counts` are (key, people) per row; `total` the people of
    the whole table; `union_size(keys)` the distinct people of a set of rows (people can
    be in several rows, so counts do not add up); `already` rows withheld before."""
    if 0 < total < k:
        return Suppression(frozenset(key for key, _ in counts), True)
    withheld = set(already) | {key for key, people in counts if 0 < people < k}
    candidates = sorted(
        ((people, str(key), key) for key, people in counts if key not in withheld and people),
        key=lambda item: (item[0], item[1]),
    )
    while withheld and union_size(frozenset(withheld)) < k:
        if not candidates:
            # Only reached when rows do not cover the total; never show a small group.
            return Suppression(frozenset(key for key, _ in counts), True)
        withheld.add(candidates.pop(0)[2])
    return Suppression(frozenset(withheld), False)
