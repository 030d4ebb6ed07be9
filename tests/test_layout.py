"""The layout shows the design (DESIGN.md, Architecture): dependencies run one way,

    portal ← pairings, volunteers ← activities ← figures ← reports ← dashboards ← demo

for imports and for strings alike: no app names an app to its right (or a sibling) by an import, a URL name, a
URL path, a template, a reverse relation name or a status value; and no module imports in a circle. The site's
wiring (settings, root URLconf, the Celery app) and the migrations' history are the places allowed to name every
app. This walks the source, so a violation is caught the day it is written, not the day a rename breaks it.
"""

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parent.parent
RANK = {"portal": 0, "pairings": 1, "volunteers": 1, "activities": 2, "figures": 3, "reports": 4, "dashboards": 5, "demo": 6}
WIRING = {"portal/settings.py", "portal/urls.py", "portal/celery.py", "portal/wsgi.py"}
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext", "gettext_noop"}


def may_use(user, used):
    """May code of app `user` name app `used`? Itself, or an app strictly to its left."""
    return used == user or RANK[used] < RANK[user]


def python_files(app):
    for path in sorted((ROOT / app).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/migrations/" not in rel and rel not in WIRING:
            yield rel, path


def template_files(app):
    for base in (ROOT / "templates" / app, ROOT / app / "templates" / app):
        if base.is_dir():
            for path in sorted(base.rglob("*.html")):
                yield path.relative_to(ROOT).as_posix(), path


def module_of(rel):
    return rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def imports_of(tree, module):
    """Every module the file imports, at the top or inside a function (absolute names)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            yield base, node.lineno
            for alias in node.names:  # `from reports import tasks` imports the module reports.tasks
                yield f"{base}.{alias.name}", node.lineno


def code_strings(tree):
    """String constants that are code, not prose: docstrings and gettext messages left out."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT:
            skip.update(id(arg) for arg in node.args)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.value, node.lineno


def attributes(tree):
    """Attribute names read, but not QuerySet methods called (``.values(...)`` is no relation)."""
    called = {
        id(node.func) for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and hasattr(models.QuerySet, node.func.attr)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in called:
            yield node.attr, node.lineno


def _names_status(node):
    return (isinstance(node, ast.Attribute) and "status" in node.attr) or (isinstance(node, ast.Name) and "status" in node.id)


def _strings_in(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value, node.lineno
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            yield from _strings_in(element)


def status_strings(tree):
    """Strings used as status values: compared with a status, passed as a ``status…`` argument, or kept in a
    module's UPPERCASE constant."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_names_status(n) for n in [node.left, *node.comparators]):
            for part in [node.left, *node.comparators]:
                yield from _strings_in(part)
        elif isinstance(node, ast.keyword) and node.arg and "status" in node.arg:
            yield from _strings_in(node.value)
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
            yield from _strings_in(node.value)


def parsed(app):
    for rel, path in python_files(app):
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


# --- what each app owns: its reverse relation names and status values ----------------------------------------


def reverse_names():
    """{(app of the target model, name): app that defines it} for relations declared by one app to a model of
    another: the names by which the target's app could reach to the right."""
    names = {}
    for model in apps.get_models():
        owner = model._meta.app_label
        if owner not in RANK:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or field.auto_created or field.remote_field is None:
                continue
            target = field.related_model._meta.app_label if field.related_model else None
            if target not in RANK or target == owner:
                continue
            remote = field.remote_field
            for name in {remote.get_accessor_name(), field.related_query_name()}:
                if name and not name.endswith("+"):
                    names[(target, name)] = owner
    return names


def status_values():
    """{value: apps whose models have a status with that value} (the ``status`` choices of every model)."""
    owners = defaultdict(set)
    for model in apps.get_models():
        app = model._meta.app_label
        if app not in RANK:
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.CharField) and field.choices and field.name == "status":
                for value, _label in field.flatchoices:
                    owners[value].add(app)
    return owners


URL_NAME = re.compile(r"""["'](%s):[a-z_]+["']""" % "|".join(RANK))
URL_PATH = re.compile(r"""(?:["'=]|href=")/(%s)/""" % "|".join(a for a in RANK if a != "portal"))
TEMPLATE_NAME = re.compile(r"""["'](%s)/[\w/.-]+\.html["']""" % "|".join(RANK))
TEMPLATE_ATTR = re.compile(r"\{[{%][^}]*?\.(\w+)")
TEMPLATE_STATUS = re.compile(r"""status\s*(?:==|!=|in)\s*["'](\w+)["']""")


def violations():
    found = []
    reverse = reverse_names()
    owners = status_values()
    for app in RANK:
        reachable = {name for (target, name), owner in reverse.items() if target == app and not may_use(app, owner)}
        for rel, tree in parsed(app):
            module = module_of(rel)
            for name, line in imports_of(tree, module):
                top = name.split(".")[0]
                if top in RANK and not may_use(app, top):
                    found.append(f"{rel}:{line} imports {name}")
            for text, line in code_strings(tree):
                for match in URL_NAME.finditer(f'"{text}"'):
                    if not may_use(app, match.group(1)):
                        found.append(f"{rel}:{line} names the URL {text!r}")
                for pattern, what in ((URL_PATH, "path"), (TEMPLATE_NAME, "template")):
                    match = pattern.search(f'"{text}"')
                    if match and not may_use(app, match.group(1)):
                        found.append(f"{rel}:{line} names the {what} {text!r}")
                head = text.split("__")[0]
                if head in reachable and (text == head or "__" in text):
                    found.append(f"{rel}:{line} uses the reverse relation {text!r} of {reverse[(app, head)]}")
            for text, line in status_strings(tree):
                if text in owners and not any(may_use(app, o) for o in owners[text]):
                    found.append(f"{rel}:{line} spells the status {text!r} of {', '.join(sorted(owners[text]))}")
            for attr, line in attributes(tree):
                if attr in reachable:
                    found.append(f"{rel}:{line} uses the reverse relation .{attr} of {reverse[(app, attr)]}")
        for rel, path in template_files(app):
            text = path.read_text(encoding="utf-8")
            for number, line in enumerate(text.splitlines(), start=1):
                for match in URL_NAME.finditer(line):
                    if not may_use(app, match.group(1)):
                        found.append(f"{rel}:{number} names the URL {match.group(0)}")
                for pattern, what in ((URL_PATH, "path"), (TEMPLATE_NAME, "template")):
                    for match in pattern.finditer(line):
                        if not may_use(app, match.group(1)):
                            found.append(f"{rel}:{number} names the {what} {match.group(0)}")
                for match in TEMPLATE_ATTR.finditer(line):
                    if match.group(1) in reachable:
                        found.append(f"{rel}:{number} uses the reverse relation .{match.group(1)}")
                for match in TEMPLATE_STATUS.finditer(line):
                    value = match.group(1)
                    if value in owners and not any(may_use(app, o) for o in owners[value]):
                        found.append(f"{rel}:{number} spells the status {value!r}")
    return found


def test_nothing_reaches_to_the_right():
    assert violations() == []


def test_no_module_imports_in_a_circle():
    graph = defaultdict(set)
    known = {module_of(rel) for app in RANK for rel, _path in python_files(app)}
    for app in RANK:
        for rel, tree in parsed(app):
            module = module_of(rel)
            for name, _line in imports_of(tree, module):
                if name in known and name != module:
                    graph[module].add(name)
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(known):
        if node not in index:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("bad, expected", [
    ('from reports.models import Report\n', "imports reports.models"),
    ('URL = "activities:list"\n', "names the URL"),
    ('PATH = "/activities/?pairing=1"\n', "names the path"),
    ('q = {"activities__date__gte": 1}\n', "uses the reverse relation"),
    ('x = pairing.activities.all()\n', "uses the reverse relation .activities"),
    ('COUNTED = ("submitted", "confirmed")\n', "spells the status"),
])
def test_the_walker_catches_each_kind(tmp_path, monkeypatch, bad, expected):
    """The check itself: a pairings module written each wrong way is caught."""
    probe = ROOT / "pairings" / "_layout_probe.py"
    probe.write_text(bad, encoding="utf-8")
    try:
        assert any(expected in line and "_layout_probe.py" in line for line in violations())
    finally:
        probe.unlink()
