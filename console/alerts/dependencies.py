"""`depends_on` between rules: which parent mutes which child, and who evaluates first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from console.config.model import RuleConfig


def acyclic_parents(rules: Sequence[RuleConfig]) -> dict[str, str]:
    """depends_on edges between enabled rules, minus any that close a cycle."""
    edges = {r.name: r.depends_on for r in rules if r.depends_on is not None}
    names = {r.name for r in rules}
    edges = {child: parent for child, parent in edges.items() if parent in names}

    def on_cycle(name: str) -> bool:
        seen: set[str] = set()
        node = edges.get(name)
        while node is not None and node not in seen:
            if node == name:
                return True
            seen.add(node)
            node = edges.get(node)
        return False

    return {child: parent for child, parent in edges.items() if not on_cycle(child)}


def depth(name: str, parents: Mapping[str, str]) -> int:
    """How many ancestors a rule has (parents is acyclic, so this ends)."""
    count = 0
    while (parent := parents.get(name)) is not None:
        count, name = count + 1, parent
    return count
