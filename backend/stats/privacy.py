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
   fewest contributors (then the first in the table's order) is withheld as well.
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
        (people, position, key)
        for position, (key, people) in enumerate(counts)
        if key not in withheld and people
    )
    while withheld and union_size(frozenset(withheld)) < k:
        if not candidates:
            # Only reached when rows do not cover the total; never show a small group.
            return Suppression(frozenset(key for key, _ in counts), True)
        withheld.add(candidates.pop(0)[2])
    return Suppression(frozenset(withheld), False)


def linked_withheld(
    rows: dict[Key, frozenset],
    people: dict[Key, int],
    withheld: frozenset,
    *,
    k: int,
) -> frozenset:
    """Rule 6, for tables published over the same data (villages, associations and
    services are three ways of cutting one total): each row is the set of inner cells
    it adds up (here (village, association, service) triples). A row with 1 to k-1
    people must not be a linear combination of the shown rows and the total, or an
    analyst could solve for it (village D = association X - village V when X serves
    only V and D). While one is, another shown row is withheld: one of another table
    that shares cells with it (not one equal to the total), else any whose removal
    hides something; the one with the fewest people first, then the first in `rows`.
    Keys are (table, key)."""
    import numpy as np

    cells = sorted(set().union(*rows.values()), key=str)
    if not cells:
        return withheld
    index = {cell: i for i, cell in enumerate(cells)}
    vectors = {}
    for key, members in rows.items():
        vectors[key] = np.zeros(len(cells))
        vectors[key][[index[cell] for cell in members]] = 1.0
    total = np.ones(len(cells))
    all_cells = frozenset(cells)
    order = {key: position for position, key in enumerate(rows)}
    sensitive = [key for key in rows if 0 < people.get(key, 0) < k]

    def rank(keys) -> int:
        return int(np.linalg.matrix_rank(np.vstack([total, *(vectors[key] for key in keys)])))

    withheld = set(withheld)
    while True:
        shown = [key for key in rows if key not in withheld]
        base = rank(shown)
        leak = next((key for key in sensitive if rank([*shown, key]) == base), None)
        if leak is None:
            return frozenset(withheld)
        # Rows of another table that share cells with the leaking row (not one equal to
        # the total, which stays published anyway); else any row whose removal lowers
        # what can be solved for.
        options = [
            key
            for key in shown
            if key[0] != leak[0] and rows[key] & rows[leak] and rows[key] != all_cells
        ] or [key for key in shown if rank([s for s in shown if s != key]) < base]
        if not options:  # cannot happen while a sensitive row leaks; be safe anyway
            return frozenset(rows)
        withheld.add(min(options, key=lambda key: (people.get(key, 0), order[key])))
