"""Write the reference documentation from the code, so that it cannot drift from it.

    .venv/bin/python scripts/gen-docs.py           rewrite the files
    .venv/bin/python scripts/gen-docs.py --check   exit 1 when a file is missing, out of date or stale
                                                   (the unit tests run it)

Sources and targets:
    plugins/module_utils/_catalogue.py  -> docs/catalogue.md
    plugins/modules/*.py (DOCUMENTATION, EXAMPLES, RETURN, doc fragments resolved by ansible-core)
                                        -> docs/reference/modules/<module>.md
    plugins/lookup/*.py                 -> docs/reference/lookup/<plugin>.md
    roles/*/meta/argument_specs.yml     -> docs/reference/roles/<role>.md
    all of them                         -> docs/reference/README.md (the index)

Every module, lookup and role present is picked up; files of ones that no longer exist are removed.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import textwrap

import yaml

from ansible.errors import AnsibleError
from ansible.plugins.loader import fragment_loader, init_plugin_loader
from ansible.utils.plugin_docs import get_docstring

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The checkout is the collection (ansible_collections/darevel/postgres -> ../..): ansible-core's
# collection loader then resolves our imports and doc fragments as it does for ansible-doc.
init_plugin_loader([ROOT])

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue  # noqa: E402

COLLECTION = "darevel.postgres"
CATALOGUE = "docs/catalogue.md"
REFERENCE = "docs/reference"
NOTICE = "<!-- Written by scripts/gen-docs.py from %s; edit that, then run the script. -->"
LONG_DEFAULT = 60


# --- the catalogue --------------------------------------------------------------------------------

def render_catalogue() -> str:
    lines = [
        "# Catalogue reference",
        "",
        NOTICE % "plugins/module_utils/_catalogue.py",
        "",
        "`postgres_instances` is a list of entries, one per instance. `postgres_instances_enabled`",
        "(`all` or a list of names) says which of them a host runs; `postgres_version` is the default",
        "major version. The catalogue is checked by `darevel.postgres.pg_preflight` before any host",
        "changes; every problem is reported at once.",
        "",
        "| key | type | required | default | unique | description |",
        "|---|---|---|---|---|---|",
    ]
    for key, (types, required, default) in _catalogue.FIELDS.items():
        kind = "int" if types == (int,) else "str"
        shown = "`postgres_version`" if key == "version" else ("`%s`" % default if default is not None else "")
        lines.append("| `%s` | %s | %s | %s | %s | %s |" % (
            key, kind, "yes" if required else "no", shown,
            "yes" if key in _catalogue.UNIQUE_FIELDS else "", _catalogue.DESCRIPTIONS[key]))
    lines += [
        "",
    ] + textwrap.wrap(_catalogue.RULES, 100, break_on_hyphens=False) + [
        "",
        "## Default catalogue",
        "",
        "| name | port | database | container | volume | purpose | used by | backend ports | compose file |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in _catalogue.SEED:
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            e["name"], e["port"], e["database"], e["container"], e["volume"], e["purpose"], e["used_by"],
            e["backend_ports"], e["compose_file"]))
    return "\n".join(lines) + "\n"


# --- Ansible documentation markup to Markdown -----------------------------------------------------

_MARKUP = re.compile(r"\b(RV|[CVOIBUMLEP])\(([^)]*)\)")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def _markup(match: re.Match, here: str, known: dict) -> str:
    kind, body = match.group(1), match.group(2)
    if kind in ("C", "V", "O", "RV", "E", "P"):
        return "`%s`" % body
    if kind == "I":
        return "*%s*" % body
    if kind == "B":
        return "**%s**" % body
    if kind == "U":
        return "<%s>" % body
    if kind == "L":
        text, _comma, url = body.rpartition(",")
        return "[%s](%s)" % (text.strip(), url.strip())
    target = known.get(body)  # M(darevel.postgres.pg_instance)
    return "[`%s`](%s)" % (body, os.path.relpath(target, here)) if target else "`%s`" % body


def md(text, here: str, known: dict, table: bool = False) -> str:
    """Ansible markup (C(), O(), V(), M() ...) of one description as Markdown on one line."""
    if isinstance(text, (list, tuple)):
        text = " ".join(str(t) for t in text)
    text = " ".join(str(text).split())
    text = text.replace("HORIZONTALLINE", "")
    text = _MARKUP.sub(lambda m: _markup(m, here, known), text)
    parts = _CODE_SPAN.split(text)
    for i, part in enumerate(parts):
        if not part.startswith("`"):  # outside code: <app> would be read as an HTML tag
            parts[i] = part.replace("<", "&lt;").replace(">", "&gt;")
    text = "".join(parts)
    return text.replace("|", "\\|") if table else text


def shown(value) -> str:
    """A default or sample as inline code."""
    if isinstance(value, str):
        return "`%s`" % value if value != "" else '`""`'
    return "`%s`" % json.dumps(_plain(value), sort_keys=False)


def _plain(value):
    """Tagged ansible-core containers as plain Python ones (for json and yaml)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


# --- option and return tables ---------------------------------------------------------------------

def anchor(scope: str, key: str) -> str:
    return "default-of-%s%s" % (scope + "-" if scope else "", re.sub(r"[^a-z0-9_-]", "", key.lower()))


def option_rows(options: dict, here: str, known: dict, prefix: str = "", long: list = None,
                scope: str = "") -> list:
    rows = []
    for name in sorted(options or {}, key=lambda n: (n.startswith("_"), n)):
        spec = options[name] or {}
        key = prefix + name
        kind = spec.get("type", "str")
        if kind == "list" and spec.get("elements"):
            kind = "list of %s" % spec["elements"]
        notes = []
        if spec.get("required"):
            notes.append("**Required.**")
        if spec.get("choices"):
            notes.append("Choices: %s." % ", ".join(shown(c) for c in spec["choices"]))
        if spec.get("aliases"):
            notes.append("Aliases: %s." % ", ".join("`%s`" % a for a in spec["aliases"]))
        if spec.get("no_log"):
            notes.append("Never logged.")
        default = ""
        if "default" in spec and spec["default"] is not None:
            default = shown(spec["default"])
            if len(default) > LONG_DEFAULT and long is not None:
                long.append((key, spec["default"]))
                default = "see [below](#%s)" % anchor(scope, key)
        text = " ".join(notes + [md(spec.get("description", ""), here, known)])
        rows.append("| `%s` | %s | %s | %s |" % (key, kind, default.replace("|", "\\|"), text.replace("|", "\\|")))
        if spec.get("suboptions"):
            sub = key + ("[]." if spec.get("type") == "list" else ".")
            rows += option_rows(spec["suboptions"], here, known, sub, long, scope)
    return rows


def options_section(options: dict, here: str, known: dict, heading: str = "## Options", label: str = "option",
                    scope: str = "") -> list:
    if not options:
        return [heading, "", "None.", ""]
    long = []
    lines = [heading, "", "| %s | type | default | description |" % label, "|---|---|---|---|"]
    lines += option_rows(options, here, known, long=long, scope=scope)
    lines.append("")
    for key, value in long:
        lines += ['<a id="%s"></a>' % anchor(scope, key),
                  "Default of `%s`:" % key, "", "```yaml",
                  yaml.safe_dump(_plain(value), default_flow_style=False, sort_keys=False, width=100).rstrip(),
                  "```", ""]
    return lines


def return_rows(returns: dict, here: str, known: dict, prefix: str = "") -> list:
    rows = []
    for name in sorted(returns or {}):
        spec = returns[name] or {}
        key = prefix + name
        kind = spec.get("type", "")
        if kind == "list" and spec.get("elements"):
            kind = "list of %s" % spec["elements"]
        text = md(spec.get("description", ""), here, known)
        if spec.get("sample") is not None:
            text += " Sample: %s" % shown(spec["sample"])
        returned = md(spec.get("returned", ""), here, known)
        rows.append("| `%s` | %s | %s | %s |" % (key, kind, returned.replace("|", "\\|"), text.replace("|", "\\|")))
        if spec.get("contains"):
            sub = key + ("[]." if spec.get("type") == "list" else ".")
            rows += return_rows(spec["contains"], here, known, sub)
    return rows


# --- pages ----------------------------------------------------------------------------------------

def plugin_docs(kind: str, unreadable: list) -> list:
    """(name, path, doc, examples, returns) of every plugin of one kind, fragments resolved.

    A plugin whose documentation does not load goes to `unreadable` (path and reason) instead.
    """
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", kind, "*.py"))):
        name, source = os.path.basename(path)[:-3], os.path.relpath(path, ROOT)
        if name.startswith("_"):
            continue
        try:
            doc, examples, returns, _meta = get_docstring(path, fragment_loader, collection_name=COLLECTION,
                                                          is_module=kind == "modules")
        except (AnsibleError, yaml.YAMLError) as exc:
            reason = " ".join(str(exc).split())
            unreadable.append("%s: its documentation does not load (%s); fix: make DOCUMENTATION, EXAMPLES "
                              "and RETURN valid YAML (scripts/sanity.sh --test validate-modules shows more)"
                              % (source, reason))
            continue
        if not doc:
            unreadable.append("%s: no DOCUMENTATION; fix: document it as the other plugins are" % source)
            continue
        found.append((name, source, doc, examples, returns))
    return found


def role_specs(unreadable: list) -> list:
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        source = os.path.relpath(path, ROOT)
        try:
            with open(path) as handle:
                specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        except yaml.YAMLError as exc:
            unreadable.append("%s: not valid YAML (%s)" % (source, " ".join(str(exc).split())))
            continue
        found.append((path.split(os.sep)[-3], source, specs))
    return found


def attributes_section(attributes: dict) -> list:
    if not attributes:
        return []
    lines = ["## Attributes", "", "| attribute | support | |", "|---|---|---|"]
    for name in sorted(attributes):
        spec = attributes[name] or {}
        extra = spec.get("platforms", "") if name == "platform" else spec.get("details", "")
        extra = " ".join(extra) if isinstance(extra, list) else str(extra or "")
        lines.append("| `%s` | %s | %s |" % (name, spec.get("support", ""), extra.replace("|", "\\|")))
    return lines + [""]


def render_plugin(kind: str, name: str, source: str, doc: dict, examples: str, returns: dict,
                  here: str, known: dict) -> str:
    fqcn = "%s.%s" % (COLLECTION, name)
    title = {"modules": "Module", "lookup": "Lookup plugin"}[kind]
    lines = ["# %s `%s`" % (title, fqcn), "", NOTICE % source, "",
             md(doc.get("short_description", ""), here, known) + ".", ""]
    for paragraph in doc.get("description") or []:
        lines += [md(paragraph, here, known), ""]
    if doc.get("version_added"):
        lines += ["Added in version %s." % doc["version_added"], ""]
    if doc.get("requirements"):
        lines += ["## Requirements", ""]
        lines += ["- %s" % md(r, here, known) for r in doc["requirements"]] + [""]
    lines += options_section(doc.get("options"), here, known)
    lines += attributes_section(doc.get("attributes"))
    if doc.get("notes"):
        lines += ["## Notes", ""] + ["- %s" % md(n, here, known) for n in doc["notes"]] + [""]
    if doc.get("seealso"):
        lines += ["## See also", ""]
        for item in doc["seealso"]:
            ref = item.get("module") or item.get("plugin") or item.get("link") or item.get("ref", "")
            lines.append("- %s%s" % (md("M(%s)" % ref, here, known) if item.get("module") else "`%s`" % ref,
                                     (": " + md(item["description"], here, known)) if item.get("description") else ""))
        lines.append("")
    if examples and examples.strip():
        lines += ["## Examples", "", "```yaml", examples.strip("\n"), "```", ""]
    if returns:
        lines += ["## Return values", "", "| key | type | returned | description |", "|---|---|---|---|"]
        lines += return_rows(returns, here, known) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_role(name: str, source: str, specs: dict, here: str, known: dict) -> str:
    fqcn = "%s.%s" % (COLLECTION, name)
    lines = ["# Role `%s`" % fqcn, "", NOTICE % source, ""]
    main = specs.get("main") or {}
    if main.get("short_description"):
        lines += [md(main["short_description"], here, known) + ".", ""]
    for entry in sorted(specs, key=lambda e: (e != "main", e)):
        spec = specs[entry] or {}
        if entry != "main":
            lines += ["## Entry point `%s`" % entry, ""]
            if spec.get("short_description"):
                lines += [md(spec["short_description"], here, known) + ".", ""]
        description = spec.get("description") or []
        for paragraph in [description] if isinstance(description, str) else description:
            lines += [md(paragraph, here, known), ""]
        heading = "## Variables" if entry == "main" else "### Variables"
        lines += options_section(spec.get("options"), here, known, heading, "variable",
                                 "" if entry == "main" else entry)
    lines += ["Defaults are in `roles/%s/defaults/main.yml`; the unit tests keep them equal to this" % name,
              "specification, and ansible-core checks the variables against it when the role starts.", "",
              "```yaml", "- hosts: postgres", "  roles:", "    - role: %s" % fqcn, "```"]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_index(plugins: dict, roles: list, here: str, known: dict) -> str:
    lines = ["# Reference", "", NOTICE % "the modules, plugins and roles", "",
             "One page per module, plugin and role, written from their documentation and argument",
             "specifications. The instance catalogue is described in [../catalogue.md](../catalogue.md);",
             "how the parts fit together in [../architecture.md](../architecture.md); the commands in",
             "[../runbooks.md](../runbooks.md).", ""]
    for kind, heading in (("modules", "Modules"), ("lookup", "Lookup plugins")):
        if plugins.get(kind):
            lines += ["## %s" % heading, "", "| name | what it does |", "|---|---|"]
            for name, _source, doc, _examples, _returns in plugins[kind]:
                link = os.path.relpath(known["%s.%s" % (COLLECTION, name)], here)
                lines.append("| [`%s`](%s) | %s |" % (name, link, md(doc.get("short_description", ""), here, known, True)))
            lines.append("")
    lines += ["## Roles", "", "| name | what it does |", "|---|---|"]
    for name, _source, specs in roles:
        link = os.path.relpath(os.path.join(REFERENCE, "roles", name + ".md"), here)
        short = (specs.get("main") or {}).get("short_description", "")
        lines.append("| [`%s`](%s) | %s |" % (name, link, md(short, here, known, True)))
    return "\n".join(lines) + "\n"


def render_all(unreadable: list) -> dict:
    """Every generated file, relative path -> text; sources that do not load go to `unreadable`."""
    plugins = {kind: plugin_docs(kind, unreadable) for kind in ("modules", "lookup")}
    roles = role_specs(unreadable)
    known = {}
    for kind, found in plugins.items():
        for name, *_rest in found:
            known["%s.%s" % (COLLECTION, name)] = os.path.join(REFERENCE, kind, name + ".md")
    files = {CATALOGUE: render_catalogue()}
    for kind, found in plugins.items():
        for name, source, doc, examples, returns in found:
            target = known["%s.%s" % (COLLECTION, name)]
            files[target] = render_plugin(kind, name, source, doc, examples, returns,
                                          os.path.dirname(target), known)
    for name, source, specs in roles:
        target = os.path.join(REFERENCE, "roles", name + ".md")
        files[target] = render_role(name, source, specs, os.path.dirname(target), known)
    index = os.path.join(REFERENCE, "README.md")
    files[index] = render_index(plugins, roles, REFERENCE, known)
    return files


def existing() -> set:
    """Generated files on disk: the catalogue and every page under docs/reference."""
    found = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, REFERENCE, "**", "*.md"), recursive=True)}
    return found | {CATALOGUE}


def check(files: dict) -> list:
    problems = []
    for path, text in sorted(files.items()):
        full = os.path.join(ROOT, path)
        if not os.path.isfile(full):
            problems.append("%s is missing" % path)
            continue
        with open(full) as handle:
            if handle.read() != text:
                problems.append("%s is out of date" % path)
    problems += ["%s belongs to nothing that exists any more" % p for p in sorted(existing() - set(files))]
    return problems


def write(files: dict) -> None:
    for path in sorted(existing() - set(files)):
        os.remove(os.path.join(ROOT, path))
    for path, text in files.items():
        full = os.path.join(ROOT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)


def main() -> int:
    unreadable = []
    files = render_all(unreadable)
    if unreadable:  # nothing written: a page must not vanish because its source broke
        for problem in unreadable:
            print(problem, file=sys.stderr)
        return 1
    if "--check" in sys.argv:
        problems = check(files)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: .venv/bin/python scripts/gen-docs.py (then commit the docs)", file=sys.stderr)
        return 1 if problems else 0
    write(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
