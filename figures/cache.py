"""Figures kept in the cache until the rollup or the set-up changes (portal/versioned.py's pattern).

A value read from the rollup (figures/rollups.py) and the set-up alone is cached under both versions: the set-up's
token, and the rollup's, which every refresh or rebuild of the rollup replaces once its rows are committed
(`rollup_changed`). The next request in every process then reads the figures afresh; nothing is invalidated one key
at a time. Who may see a value is decided before it is asked for (the view's scope check), or is part of its key.
"""

from portal import versioned

ROLLUP_VERSION = "figures:rollup-version"


def rollup_changed():
    """The rollup's rows changed: figures cached under its current token are no longer read (now, and again when
    the transaction commits if the refresh ran inside one)."""
    versioned.changed(ROLLUP_VERSION)


def cached_figures(name, build, *parts):
    """`build()`, cached under the rollup's and the set-up's versions, the `name` and the `parts`."""
    return versioned.cached(name, build, *parts, versions=(ROLLUP_VERSION,))
