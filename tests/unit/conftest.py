"""Make `ansible_collections.darevel.postgres` importable from a plain `pytest tests/unit` run.

The repository root holds `ansible_collections/darevel/postgres -> ../..` (scripts/bootstrap.sh
venv). Ansible's collection finder is installed with that root first, so our collection and the
ones shipped in the venv's site-packages (community.*) resolve the way ansible-core resolves them,
and plugin loaders (`lookup_loader.get('darevel.postgres.credentials')`) see our plugins.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LINK = os.path.join(REPO_ROOT, "ansible_collections", "darevel", "postgres")


def _install_collection_finder() -> None:
    if not os.path.isdir(_LINK):
        raise RuntimeError("%s is missing; run `scripts/bootstrap.sh venv` first" % _LINK)
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if AnsibleCollectionConfig.collection_finder is not None:
        return
    from ansible import constants as C

    paths = [REPO_ROOT] + [p for p in C.COLLECTIONS_PATHS if os.path.abspath(p) != REPO_ROOT]
    _AnsibleCollectionFinder(paths=paths, scan_sys_paths=True)._install()


_install_collection_finder()


# --- a fake /proc tree for _ports and _preflight -------------------------------------------------

import pytest  # noqa: E402

TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
              "inode\n")


def tcp_line(slot: int, local: str, port: int, state: str, inode: int, remote: str = "00000000:0000") -> str:
    """One /proc/net/tcp line as the kernel prints it (addresses and port in hex)."""
    return ("%4d: %s:%04X %s %s 00000000:00000000 00:00000000 00000000   106        0 %d 1 "
            "0000000000000000 100 0 0 10 0\n" % (slot, local, port, remote, state, inode))


class FakeProc:
    """Builds <tmp>/proc with net/tcp, net/tcp6 and per-pid fd/, comm and cmdline."""

    def __init__(self, root):
        self.root = root
        (root / "net").mkdir(parents=True)
        self.tcp = [TCP_HEADER]
        self.tcp6 = [TCP_HEADER]

    @property
    def path(self) -> str:
        return str(self.root)

    def listen(self, port: int, inode: int, ipv6: bool = False, state: str = "0A") -> None:
        lines = self.tcp6 if ipv6 else self.tcp
        local = "00000000000000000000000001000000" if ipv6 else "0100007F"
        lines.append(tcp_line(len(lines) - 1, local, port, state, inode))
        (self.root / "net" / "tcp").write_text("".join(self.tcp))
        (self.root / "net" / "tcp6").write_text("".join(self.tcp6))

    def process(self, pid: int, comm: str, argv: list, inodes=(), other_fds=("/dev/null", "pipe:[77]")):
        base = self.root / str(pid)
        (base / "fd").mkdir(parents=True)
        (base / "comm").write_text(comm + "\n")
        (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        targets = list(other_fds) + ["socket:[%d]" % i for i in inodes]
        for fd, target in enumerate(targets):
            (base / "fd" / str(fd)).symlink_to(target)
        return base


@pytest.fixture
def fake_proc(tmp_path):
    proc = FakeProc(tmp_path / "proc")
    proc.listen(22, 1000)  # sshd, always there
    (tmp_path / "proc" / "self").mkdir()  # non-numeric entries are ignored
    return proc
