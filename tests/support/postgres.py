"""A throwaway PostgreSQL server on loopback, started from the machine's binaries.

initdb and pg_ctl refuse to run as root, so as root the cluster belongs to the `postgres`
system user (created if missing). The server listens on 127.0.0.1 and a private socket
directory, with durability switched off: it only ever holds test data.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SEARCH_PATTERNS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL binaries on this machine."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl (the newest version installed)."""
    override = os.environ.get("TIDINGS_PG_BINDIR")
    candidates = [override] if override else []
    for pattern in SEARCH_PATTERNS:
        candidates += sorted(glob.glob(pattern), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailableError(
        "no PostgreSQL server binaries found (install the 'postgresql' package, "
        "or set TIDINGS_PG_BINDIR)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner() -> str | None:
    """The user to run the server as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", "postgres"],
            check=True,
        )
    return "postgres"


@dataclass
class PostgresServer:
    """A running throwaway cluster."""

    bindir: Path
    root: Path
    port: int
    owner: str | None
    # Off for speed; on where a test stops the server as a crash would: with it off, the
    # last commits before an immediate stop are lost, which no production server allows.
    synchronous_commit: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for `database` on this server."""
        return f"postgresql+psycopg://tidings@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        subprocess.run(
            [*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> None:
        """initdb and start the server; returns when it accepts connections."""
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self.owner:
            # Every parent directory must be traversable by the server's user.
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self.owner)
            shutil.chown(self.sockets, self.owner)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "tidings",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._start()

    def _start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.sockets}",
                "-c fsync=off",
                f"-c synchronous_commit={'on' if self.synchronous_commit else 'off'}",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def restart(self) -> None:
        """Stop the server at once (as a crash would) and start it again on the same port."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        self._start()

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server(synchronous_commit: bool = False) -> PostgresServer:
    """Start a fresh throwaway server on a free loopback port."""
    owner = _owner()
    root = Path(tempfile.mkdtemp(prefix="tidings-pg-"))
    server = PostgresServer(find_bindir(), root, free_port(), owner, synchronous_commit)
    server.start()
    return server
