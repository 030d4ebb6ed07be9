"""Shared fixtures: a small world with the fixed cast of users (owner, read-only, outsider, admin).

`make test` runs the suite on one xdist worker per core. Each worker has its own test database (pytest-django adds
`_gw0`, `_gw1` …) and live-server port, and tests keep their files in tmp_path. What the workers would share is
listed in SERIAL_GROUPS below: the tests of each group run on one worker, one after another."""

import os

import pytest
from django.db import connection

from portal.models import Membership, Organization
from tests import factories as f


# Modules whose tests share something outside their own test database, by what they share. xdist runs a group's
# tests on one worker, one after another, and spreads every other test one by one (test_conftest.py checks that
# each module using the real Redis is listed).
SERIAL_GROUPS = {
    # the real Redis on 127.0.0.1:6379, whose databases these tests flush, and Celery workers they start on it
    "redis": (
        "tests/activities/test_ledger_worker.py",
        "tests/portal/test_deploy.py",
        "tests/portal/test_health.py",
        "tests/portal/test_observability.py",
        "tests/portal/test_read_with_session.py",
        "tests/portal/test_resilience.py",
        "tests/portal/test_sessions.py",
        "tests/reports/test_channels_worker.py",
        "tests/reports/test_worker.py",
    ),
    # the source tree: the layout check reads it, and its own tests write a probe module into it
    "source-tree": ("tests/test_layout.py",),
}


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`-n N` (xdist's `--dist load`) with SERIAL_GROUPS kept together. xdist's own `--dist loadgroup` reads
    `xdist_group` marks, but cannot under pytest 9 (it renames node ids through an attribute pytest 9 no longer
    reads); its controller sees only node ids, so the groups are named by module here."""
    if config.getvalue("dist") != "load":
        return None  # another distribution asked for by name
    from xdist.scheduler import LoadScopeScheduling

    group_of = {module: group for group, modules in SERIAL_GROUPS.items() for module in modules}

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return group_of.get(nodeid.split("::", 1)[0], nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    # a browser test is a slow test: one marker to leave out in a developer's quick run
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session, exitstatus):
    # In CI's PostgreSQL run every service is present, so a skipped test means something is missing. Under xdist
    # the controller sees every worker's reports; the workers themselves leave it to the controller.
    if hasattr(session.config, "workerinput"):
        return
    if os.environ.get("STRICT_SKIPS") and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        skipped = reporter.stats.get("skipped", []) if reporter else []
        if skipped:
            reporter.write_line(f"STRICT_SKIPS: {len(skipped)} test(s) skipped; none may skip here.", red=True)
            session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_request_left_open():
    """The version tokens a request keeps (portal/versioned.py) end with it at request_finished, which the test
    client sends for a streamed response only once the stream is closed: a test that checks an export's status
    without reading it would leave the tests after it, in this thread, reading its tokens as if inside it. A test
    whose cache failed leaves no outage behind either (the next test's first read would replace every token), nor
    values kept in the process (a test that sets a token itself would find the last test's)."""
    yield
    from portal import versioned

    versioned._end_request()
    versioned._Outage.forget()
    versioned._kept.clear()


@pytest.fixture(autouse=True)
def _celery_app_stays_the_portals():
    """The portal's tasks are shared tasks: they run on Celery's current app. A test that made another app current
    (Celery(...) does, unless set_as_current=False) would turn the eager tasks of every later test in the same
    process into messages for nobody: fail at the test that did it."""
    from celery import current_app

    from portal.celery import app

    yield
    assert current_app._get_current_object() is app, "this test left another Celery app current"


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://… (CI runs this)")


@pytest.fixture
def world(db):
    """A program with one school (two branches) paired with one village, plus an unrelated pairing."""
    office = f.OrganizationFactory(name="项目办", kind=Organization.Kind.GOVERNMENT)
    program = f.ProgramFactory(name="双联双助", code="slsz", office=office)
    school = f.OrganizationFactory(name="学校", kind=Organization.Kind.SCHOOL)
    branch = f.OrganizationFactory(name="第三党支部", kind=Organization.Kind.BRANCH, parent=school)
    other_branch = f.OrganizationFactory(name="第四党支部", kind=Organization.Kind.BRANCH, parent=school)
    village = f.OrganizationFactory(name="龙石村", kind=Organization.Kind.VILLAGE)
    pairing = f.PairingFactory(program=program, supporter=school, supported=village)
    f.PairingBranchFactory(pairing=pairing, branch=branch)
    f.PairingBranchFactory(pairing=pairing, branch=other_branch)

    other_program = f.ProgramFactory(name="党员进社区", code="dyjsq")
    other_village = f.OrganizationFactory(name="田心村", kind=Organization.Kind.VILLAGE)
    other_pairing = f.PairingFactory(program=other_program, supported=other_village)

    def member(username, org, role):
        user = f.UserFactory(username=username)
        f.MembershipFactory(user=user, organization=org, role=role)
        return user

    users = {
        "admin": member("admin", office, Membership.Role.ADMIN),
        "committee": member("committee", school, Membership.Role.COMMITTEE),
        "secretary": member("secretary", branch, Membership.Role.SECRETARY),
        "other_secretary": member("other_secretary", other_branch, Membership.Role.SECRETARY),
        "village": member("village", village, Membership.Role.VILLAGE_COMMITTEE),
        "outsider": member("outsider", other_village, Membership.Role.VILLAGE_COMMITTEE),
    }
    users["superuser"] = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    return {
        "program": program,
        "office": office,
        "school": school,
        "branch": branch,
        "other_branch": other_branch,
        "village": village,
        "pairing": pairing,
        "other_program": other_program,
        "other_pairing": other_pairing,
        "users": users,
    }


@pytest.fixture
def cast(world):
    """The world's users and a read-only one: a plain member (not the secretary) of the first branch."""
    member = f.UserFactory(username="member")
    f.MembershipFactory(user=member, organization=world["branch"], role=Membership.Role.MEMBER)
    return {**world["users"], "member": member}
