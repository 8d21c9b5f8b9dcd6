# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker runtime: an instance's container on the engine at `docker_host`. Private to
darevel.postgres.

The tools are the container's own (the server's version); they run as `postgres` over the
container's local socket as its bootstrap superuser (POSTGRES_USER), so they work whatever the
current password is. A session is one psql whose stdin stays attached: statements are sent
through it, never on a command line, and a transaction (the backup's snapshot) stays open while
other tools run in other execs. With `env` (an external server) the same clients connect there.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import tarfile
import time
import uuid
from typing import Iterable, Optional

from ansible_collections.darevel.postgres.plugins.module_utils._engine import HAS_DOCKER, client
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import (
    PSQL_ARGS, Runtime, Session, mask_verifiers, parse_unaligned, render, tail, tar_stream)

try:
    from docker.errors import DockerException, NotFound
except ImportError:  # pragma: no cover - the SDK is missing or broken: open_container says so
    HAS_DOCKER = False

SCRATCH = "/tmp/darevel"


def _read_exact(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_frame(sock) -> tuple[Optional[int], bytes]:
    """One frame of an attached exec's multiplexed stream: (1 stdout | 2 stderr, payload); (None, b'') at the end."""
    header = _read_exact(sock, 8)
    if len(header) < 8:
        return None, b""
    stream, size = struct.unpack(">BxxxL", header)
    return stream, _read_exact(sock, size)


def container_user(container) -> str:
    env = dict(e.partition("=")[::2] for e in container.attrs.get("Config", {}).get("Env") or [])
    return env.get("POSTGRES_USER") or "postgres"


def open_container(docker_host: Optional[str], name: str, label: str, timeout: int = 600):
    """The running container `name`, or a DarevelError that says why not and what to do."""
    if not HAS_DOCKER:
        raise DarevelError("%s: the Docker SDK for Python is missing; fix: install python3-docker" % label)
    try:
        container = client(docker_host, timeout=timeout).containers.get(name)
    except DarevelError as exc:
        raise DarevelError("%s: %s" % (label, exc.msg))
    except NotFound:
        raise DarevelError("%s: container %s does not exist; fix: create it (playbooks/site.yml)" % (label, name))
    except DockerException as exc:
        raise DarevelError("%s: cannot reach the Docker engine: %s; fix: start Docker" % (label, exc))
    if container.status != "running":
        raise DarevelError("%s: container %s is %s; fix: start it (playbooks/start.yml -e apps=...) and run "
                           "this again" % (label, name, container.status))
    return container


class ExecSession(Session):
    """psql in the container over one attached exec; the statements go on its stdin."""

    def __init__(self, runtime: "DockerRuntime", database: str) -> None:
        self.runtime = runtime
        self.mark = "__darevel_%s__" % uuid.uuid4().hex
        api = runtime.container.client.api
        argv = ["psql"] + PSQL_ARGS + runtime.conn_args() + ["-d", database]
        options = {"environment": runtime.env} if runtime.env else {}
        self.exec_id = api.exec_create(runtime.container.id, argv, stdin=True, stdout=True, stderr=True, tty=False,
                                       user="postgres", **options)["Id"]
        self.sock = api.exec_start(self.exec_id, socket=True)._sock
        self.sock.settimeout(None)
        self.open = True

    def rows(self, text: str, idents: tuple = (), params: tuple = ()) -> list[tuple]:
        statement = render(text, idents, params).rstrip().rstrip(";")
        self.sock.sendall(("%s;\n\\echo %s\n" % (statement, self.mark)).encode("utf-8"))
        end = ("%s\n" % self.mark).encode()
        out, err = b"", b""
        while not out.endswith(end):
            stream, payload = read_frame(self.sock)
            if stream is None:
                self.open = False
                raise DarevelError("%s: psql in container %s stopped: %s; fix: see the error" % (
                    self.runtime.label, self.runtime.container.name,
                    mask_verifiers(tail(err, 800)) or "no message"))
            if stream == 2:
                err += payload
            else:
                out += payload
        return parse_unaligned(out[:-len(end)].decode("utf-8", "replace"))

    def begin_snapshot(self) -> None:
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def close(self) -> None:
        if self.open:
            try:
                self.sock.sendall(b"ROLLBACK;\n\\q\n")
            except OSError:
                pass
            self.open = False
        self.sock.close()


class DockerRuntime(Runtime):
    """An instance's container (or, with `env`, an external server reached from it)."""

    kind = "docker"

    def __init__(self, label: str, container, user: Optional[str] = None, env: Optional[dict] = None) -> None:
        super().__init__(label)
        self.container = container
        self.user = user or container_user(container)
        self.env = dict(env or {})
        self.scratch = "%s-%d-%s" % (SCRATCH, os.getpid(), uuid.uuid4().hex[:8])
        self.made: list[str] = []

    @classmethod
    def open(cls, docker_host: Optional[str], name: str, label: str, user: Optional[str] = None,
             env: Optional[dict] = None) -> "DockerRuntime":
        return cls(label, open_container(docker_host, name, label), user, env)

    def conn_args(self) -> list[str]:
        return ["--no-password"] if self.env else ["-U", self.user]

    def session(self, database: str = "postgres") -> ExecSession:
        return ExecSession(self, database)

    # ---------------------------------------------------------------- commands

    def exec(self, argv: list[str], user: str = "postgres", stdin: Optional[bytes] = None,
             dest: Optional[str] = None) -> tuple[int, bytes, bytes]:
        """Run `argv` in the container: (exit code, stdout unless sent to `dest`, stderr's tail)."""
        api = self.container.client.api
        options = {"environment": dict(self.env, LC_ALL="C")}
        exec_id = api.exec_create(self.container.id, argv, stdin=stdin is not None, stdout=True, stderr=True,
                                  tty=False, user=user, **options)["Id"]
        sock = api.exec_start(exec_id, socket=True)._sock
        out, err = b"", b""
        handle = open(dest, "wb") if dest else None
        try:
            sock.settimeout(None)
            if stdin is not None:
                sock.sendall(stdin)
                sock.shutdown(socket.SHUT_WR)
            while True:
                stream, payload = read_frame(sock)
                if stream is None:
                    break
                if stream == 2:
                    err = (err + payload)[-8000:]
                elif handle:
                    handle.write(payload)
                else:
                    out += payload
            if handle:
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            sock.close()
            if handle:
                handle.close()
        state = api.exec_inspect(exec_id)
        while state.get("Running"):  # the output has ended; the exit code follows a moment later
            time.sleep(0.02)
            state = api.exec_inspect(exec_id)
        code = state.get("ExitCode")
        return (-1 if code is None else code), out, err

    def _checked(self, argv: list[str], what: str, user: str = "postgres", stdin: Optional[bytes] = None,
                 dest: Optional[str] = None) -> str:
        rc, out, err = self.exec(argv, user, stdin, dest)
        if rc != 0:
            raise DarevelError("%s: %s in container %s failed (rc=%s): %s; fix: see the error" % (
                self.label, what, self.container.name, rc, mask_verifiers(tail(err + out)) or "no message"))
        return out.decode("utf-8", "replace")

    def tool(self, name: str, args: list[str], what: str, stdin: Optional[bytes] = None,
             dest: Optional[str] = None, connect: bool = True) -> str:
        return self._checked([name] + (self.conn_args() if connect else []) + list(args), what, stdin=stdin,
                             dest=dest)

    def command(self, argv: list[str], what: str, user: str = "postgres") -> str:
        return self._checked(argv, what, user)

    # ---------------------------------------------------------------- files

    def read_file(self, path: str) -> Optional[str]:
        rc, out, _err = self.exec(["cat", path])
        return out.decode("utf-8", "replace") if rc == 0 else None

    def write_file(self, path: str, content: str, like: str, mode: int = 0o600) -> None:
        rc, out, _err = self.exec(["stat", "-c", "%u:%g", like])
        uid, gid = (int(v) for v in out.decode().strip().split(":")) if rc == 0 else (999, 999)
        if not self._put(os.path.dirname(path), os.path.basename(path), content.encode("utf-8"), mode, uid, gid):
            raise DarevelError("%s: cannot write %s in container %s; fix: check the container's volume" % (
                self.label, path, self.container.name))

    def _put(self, directory: str, name: str, data: bytes, mode: int = 0o600, uid: int = 0, gid: int = 0) -> bool:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, int(time.time())
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.addfile(info, io.BytesIO(data))
        return bool(self.container.put_archive(directory, buffer.getvalue()))

    def _scratch(self) -> str:
        if self.scratch not in self.made:
            self.command(["mkdir", "-p", "-m", "0700", self.scratch], "mkdir")
            self.made.append(self.scratch)
        return self.scratch

    def stage(self, base: str, relpaths: Iterable[str]) -> str:
        """The files copied into the container (0600, owned by postgres); their directory there."""
        prefix = os.path.basename(self._scratch()) + "/staged"
        if not self.container.put_archive("/tmp", tar_stream(base, relpaths, prefix)):
            name = self.container.name
            raise DarevelError("%s: copying the backup into container %s failed; fix: check free space in the "
                               "container (docker exec %s df -h /tmp)" % (self.label, name, name))
        staged = "/tmp/" + prefix
        self.command(["chown", "-R", "postgres:postgres", staged], "chown", user="root")
        return staged

    def private_file(self, data: bytes, name: str) -> str:
        """`data` as a 0600 file owned by postgres in the scratch directory; its path there."""
        path = "%s/%s" % (self._scratch(), name)
        if not self._put(self.scratch, name, data):
            raise DarevelError("%s: copying %s into container %s failed; fix: check free space in the container" % (
                self.label, name, self.container.name))
        self.command(["chown", "postgres:postgres", path], "chown", user="root")
        return path

    def output_path(self, dest: str) -> str:
        return "%s/%s" % (self._scratch(), os.path.basename(dest))

    def collect(self, path: str, dest: str) -> None:
        """Copy `path` (a file or a directory tree) out of the container as `dest` (which must not exist)."""
        parent = os.path.dirname(dest)
        chunks, _stat = self.container.get_archive(path)
        with tarfile.open(fileobj=_ChunkReader(chunks), mode="r|") as archive:
            for member in archive:
                target = os.path.normpath(os.path.join(parent, member.name))
                if not target.startswith(parent + os.sep) or not (member.isfile() or member.isdir()):
                    raise DarevelError("%s: unexpected entry %s in what was copied from the container" % (
                        self.label, member.name))
                if member.isdir():
                    os.makedirs(target, mode=0o700, exist_ok=True)
                    continue
                source = archive.extractfile(member)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    shutil.copyfileobj(source, handle, 1 << 20)
                    handle.flush()
                    os.fsync(handle.fileno())

    def cleanup(self) -> None:
        while self.made:
            self.command(["rm", "-rf", self.made.pop()], "cleanup", user="root")


class _ChunkReader:
    """A file-like reader over the Docker SDK's chunk iterator, for tarfile's stream mode."""

    def __init__(self, chunks) -> None:
        self.chunks = iter(chunks)
        self.buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data
