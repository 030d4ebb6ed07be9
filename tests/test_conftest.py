"""The xdist groups of tests/conftest.py: every module that uses the real Redis runs in the "redis" group, so two
workers never flush each other's Redis databases or take each other's Celery tasks."""

import re
from pathlib import Path

from tests.conftest import SERIAL_GROUPS

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# the real Redis: its port, the fixtures that flush a database of it, and the modules whose fixtures do
USES_REDIS = re.compile(
    r"6379|\breal_redis\b|\bredis_cache\b|tests\.reports\.test_worker import|tests\.portal\.test_resilience import"
)
# named, but not connected to: where the fixtures are defined, a factory's error text, and the settings tests,
# which hand a URL to a process that only reads its settings
NOT_CONNECTING = {"tests/conftest.py", "tests/portal/conftest.py", "tests/factories.py", "tests/portal/test_settings.py"}


def test_every_module_using_the_real_redis_is_in_its_group():
    using = {
        path.relative_to(ROOT).as_posix()
        for path in TESTS.rglob("*.py")
        if USES_REDIS.search(path.read_text(encoding="utf-8"))
    } - NOT_CONNECTING - {Path(__file__).relative_to(ROOT).as_posix()}
    assert "tests/reports/test_worker.py" in using  # the pattern finds what it is for
    assert sorted(using - set(SERIAL_GROUPS["redis"])) == []


def test_every_grouped_module_exists():
    for modules in SERIAL_GROUPS.values():
        for module in modules:
            assert (ROOT / module).is_file(), module
