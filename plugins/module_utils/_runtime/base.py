# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime interface and its pure code. Private to darevel.postgres.

A `Runtime` is one instance (or an external server) as seen from where its tools run:
  - `session(database)`: SQL as the superuser; every value comes back as the server's text (None
    for NULL) on both runtimes, so one parser serves both;
  - `tool(name, args, what, ...)`: a PostgreSQL client tool (psql, pg_dump, pg_dumpall,
    pg_restore, pg_isready) with the connection's arguments and environment added;
  - `command(argv, what)`: any other command where the tools run;
  - `stage(base, relpaths)` and `private_file(data, name)`: make host files readable to the tools;
  - `output_path(dest)` and `collect(path, dest)`: where a tool writes a result the host keeps;
  - `cleanup()`: remove what stage and private_file left.
Statements go on a session's stdin (docker) or the driver's socket (native), never on a command
line: they may hold a password verifier, and every process's arguments are readable in /proc.
"""

from __future__ import annotations

import abc
import os
import re
import tarfile
import tempfile
from typing import Iterable, Iterator, Optional

SOCKET_DIR = "/var/run/postgresql"
# The managed settings file in an instance's conf.d directory (module_utils/_settings writes it).
SETTINGS_FILENAME = "50-darevel-settings.conf"
PG_ROOT = "/usr/lib/postgresql"
BIN_CANDIDATES = (PG_ROOT + "/{v}/bin", "/usr/pgsql-{v}/bin")
APPLICATION = "darevel.postgres"
# psql's unaligned output, read back exactly: fields, records and NULL get bytes no value holds.
FIELD_SEP, RECORD_SEP, NULL_MARK = "\x1f", "\x1e", "\x1d"
VERIFIER = re.compile(r"SCRAM-SHA-256\$[^'\s]*")


def quote_ident(name: str) -> str:
    return '"%s"' % str(name).replace('"', '""')


def quote_literal(value) -> str:
    # standard_conforming_strings is on (the default since 9.1): only quotes need doubling.
    return "'%s'" % str(value).replace("'", "''")


def render(template: str, idents: tuple = (), params: tuple = ()) -> str:
    """`template` with {} filled by quoted identifiers and %s by quoted literals."""
    if not params:
        return template.format(*map(quote_ident, idents)) if idents else template
    quoted = [quote_ident(i).replace("%", "%%") for i in idents]
    return (template.format(*quoted) if idents else template) % tuple(quote_literal(p) for p in params)


def mask_verifiers(text: str) -> str:
    """An error text can quote its statement: the verifiers in it masked."""
    return VERIFIER.sub("SCRAM-SHA-256$********", text)


def parse_unaligned(text: str) -> list[tuple]:
    """Rows of psql -A -t with FIELD_SEP, RECORD_SEP and NULL_MARK (see PSQL_ARGS)."""
    if text.endswith("\n"):
        text = text[:-1]
    if text == "":
        return []
    return [tuple(None if field == NULL_MARK else field for field in record.split(FIELD_SEP))
            for record in text.split(RECORD_SEP)]


# psql as a session: quiet, unaligned, tuples only, stopping at the first error.
PSQL_ARGS = ["-X", "-q", "-A", "-t", "-F", FIELD_SEP, "-R", RECORD_SEP, "-P", "null=" + NULL_MARK,
             "-v", "ON_ERROR_STOP=1"]


def bin_dir(version: Optional[int], tool: str = "psql") -> str:
    """The directory of PostgreSQL `version`'s programs on this host ('' when not installed)."""
    for template in BIN_CANDIDATES:
        path = template.format(v=version)
        if version and os.path.exists(os.path.join(path, tool)):
            return path
    return ""


def newest_client(tool: str, minimum: int, root: str = PG_ROOT) -> Optional[str]:
    """The newest installed `tool` of major version `minimum` or later."""
    try:
        found = sorted(int(v) for v in os.listdir(root) if v.isdigit())
    except OSError:
        return None
    for major in reversed(found):
        path = os.path.join(root, str(major), "bin", tool)
        if major >= minimum and os.path.exists(path):
            return path
    return None


def tar_stream(base: str, relpaths: Iterable[str], prefix: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """An uncompressed tar of the files under `prefix/`, read as it is sent, never held in memory."""
    relpaths = list(relpaths)
    dirs = set()
    for rel in relpaths:
        parts = rel.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:depth]))
    for name in [""] + sorted(dirs):
        info = tarfile.TarInfo(prefix + ("/" + name if name else ""))
        info.type, info.mode = tarfile.DIRTYPE, 0o700
        yield info.tobuf(format=tarfile.PAX_FORMAT)
    for rel in relpaths:
        full = os.path.join(base, rel)
        info = tarfile.TarInfo("%s/%s" % (prefix, rel))
        info.size, info.mode = os.path.getsize(full), 0o600
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        with open(full, "rb") as handle:
            yield from iter(lambda: handle.read(chunk), b"")
        yield b"\0" * ((512 - info.size % 512) % 512)
    yield b"\0" * 1024


def write_owned(path: str, content: str, like: str, mode: int = 0o600) -> None:
    """Write a text file of this host atomically (beside it, fsynced, renamed over it), owned like
    the file or directory `like`: a reader never sees half a file."""
    owner = os.stat(like)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def tail(data: bytes, size: int = 1500) -> str:
    return data.decode("utf-8", "replace").strip()[-size:]


def is_true(value) -> bool:
    """A boolean as a session returns it, the server's text ('t'); True is taken too."""
    return value is True or str(value) in ("t", "True")


class Session(abc.ABC):
    """SQL in one database, as the runtime's superuser. Values are text, NULL is None."""

    @abc.abstractmethod
    def rows(self, text: str, idents: tuple = (), params: tuple = ()) -> list[tuple]:
        """The rows of one statement, each value the server's text."""

    def execute(self, text: str, idents: tuple = (), params: tuple = ()) -> None:
        self.rows(text, idents, params)

    def one(self, text: str, idents: tuple = (), params: tuple = ()) -> Optional[tuple]:
        found = self.rows(text, idents, params)
        return found[0] if found else None

    def value(self, text: str, idents: tuple = (), params: tuple = ()):
        row = self.one(text, idents, params)
        return row[0] if row else None

    def close(self) -> None:
        pass

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Runtime(abc.ABC):
    """One instance, or an external server, as its client tools reach it. Each runtime implements
    the abstract methods; the others have the native behaviour (nothing to stage or copy)."""

    kind = "?"

    def __init__(self, label: str) -> None:
        self.label = label

    @abc.abstractmethod
    def session(self, database: str = "postgres") -> Session:
        """A session in `database`."""

    @abc.abstractmethod
    def tool(self, name: str, args: list[str], what: str, stdin: Optional[bytes] = None,
             dest: Optional[str] = None) -> str:
        """Run a PostgreSQL client tool with the connection's arguments; its stdout (or into `dest`)."""

    @abc.abstractmethod
    def command(self, argv: list[str], what: str, user: str = "postgres") -> str:
        """Run any command where the tools run; its stdout."""

    @abc.abstractmethod
    def read_file(self, path: str) -> Optional[str]:
        """A text file where the server runs (None when it cannot be read)."""

    @abc.abstractmethod
    def write_file(self, path: str, content: str, like: str, mode: int = 0o600) -> None:
        """Replace a text file where the server runs, owned like the file `like`."""

    def stage(self, base: str, relpaths: Iterable[str]) -> str:
        return base

    @abc.abstractmethod
    def private_file(self, data: bytes, name: str) -> str:
        """A 0600 file holding `data` where the tools run (removed by cleanup)."""

    def output_path(self, dest: str) -> str:
        return dest

    def collect(self, path: str, dest: str) -> None:
        pass

    def cleanup(self) -> None:
        pass
