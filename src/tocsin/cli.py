"""The `tocsin` command: run the processes, administer the installation.

Every failure a user can cause (bad arguments, unknown people, bad environment values,
an unreachable database, a port in use) ends with one line on stderr and a non-zero
exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

PROG = "tocsin"
EXIT_USAGE = 2


class CliError(Exception):
    """A failure reported as one line on stderr."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _one_line(value: object) -> str:
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    return lines[0] if lines else value.__class__.__name__


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port must be 1–65535, not {port}")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


# --- Django ---------------------------------------------------------------------


def _setup() -> None:
    """Load the settings (environment) and Django; configuration errors become one line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    from tocsin.core.env import ConfigError

    try:
        django.setup()
    except (ConfigError, ImproperlyConfigured, ValueError) as exc:
        raise CliError(f"configuration: {_one_line(exc)}") from None
    except OSError as exc:
        raise CliError(f"data directory: {_one_line(exc)}") from None


def _database_label() -> str:
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {params['NAME']}"
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"{connection.vendor} {params.get('NAME')} on {host}{port}"


def _require_database() -> None:
    from django.db import DatabaseError, connection

    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise CliError(f"database unreachable ({_database_label()}): {_one_line(exc)}") from None


def _pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def _migrate(verbosity: int) -> int:
    from django.core.management import call_command

    _require_database()
    pending = len(_pending_migrations())
    call_command("migrate", interactive=False, verbosity=verbosity)
    return pending


# --- commands -------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    applied = _migrate(verbosity=1)
    print(f"Database ready ({_database_label()}): {applied} migration(s) applied.")
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    _setup()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from tocsin.accounts.models import Role
    from tocsin.accounts.services import user_create
    from tocsin.core.actors import Actor

    password = os.environ.get("TOCSIN_ADMIN_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            raise CliError(
                "no password: set TOCSIN_ADMIN_PASSWORD or run in a terminal to be asked for one"
            )
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Password (again): ") != password:
            raise CliError("the two passwords differ")
    if not password:
        raise CliError("the password must not be empty")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise CliError("password: " + " ".join(exc.messages)) from None
    _require_database()
    user = user_create(
        username=args.username,
        email=args.email,
        name=args.name or "",
        role=Role.ADMIN,
        password=password,
        actor=Actor.system("tocsin createadmin"),
    )
    print(f"Administrator {user.username} <{user.email}> created.")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup()
    from tocsin.accounts.selectors import user_by_username
    from tocsin.accounts.services import token_create
    from tocsin.core.actors import Actor

    _require_database()
    user = user_by_username(args.username)
    if not user.is_active:
        raise CliError(f"{user.username} is deactivated; a token for them would not work")
    token, raw = token_create(
        user=user, name=args.name or "", actor=Actor.system("tocsin token create")
    )
    label = f" {token.name!r}" if token.name else ""
    print(f"API token{label} for {user.username} (shown once, stored hashed; keep it safe):")
    print(raw)
    return 0


def _print_logins(summary: Any) -> None:
    print(f'Demo logins (password "{summary.password}" for everyone):')
    width = max(len(login.username) for login in summary.logins)
    for login in summary.logins:
        team = f", {login.team}" if login.team else ""
        print(f"  {login.username:<{width}}  {login.role}{team} ({login.time_zone})")


def _load_demo() -> Any:
    from tocsin.demo import load_demo

    summary = load_demo()
    if summary.created:
        print(
            f"Demo organisation loaded in {summary.seconds:.1f} s: {summary.teams} teams, "
            f"{summary.people} people, {summary.services} services, "
            f"{summary.incidents} incidents."
        )
    else:
        print("Demo organisation already loaded; nothing added.")
    return summary


def _require_migrated() -> None:
    _require_database()
    if _pending_migrations():
        raise CliError("the database is not migrated yet: run 'tocsin migrate' first")


def _require_free_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {_bind(host, port)}: {exc.strerror}") from None


def cmd_demo(args: argparse.Namespace) -> int:
    _setup()
    _require_migrated()
    _print_logins(_load_demo())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    failed = False
    try:
        call_command("check")
    except SystemCheckError as exc:
        print(str(exc).strip(), file=sys.stderr)
        failed = True
    _require_database()
    print(f"Database reachable: {_database_label()}.")
    pending = _pending_migrations()
    if pending:
        shown = ", ".join(pending[:5]) + (
            f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        )
        print(
            f"{len(pending)} pending migration(s): {shown}; run 'tocsin migrate'.", file=sys.stderr
        )
        failed = True
    else:
        print("Migrations: up to date.")
    return 1 if failed else 0


def default_web_workers() -> int:
    from tocsin.core.env import env_int

    return env_int("TOCSIN_WEB_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 5), minimum=1)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# gunicorn's limit_request_line: 0 means its own ceiling, 1 MB (docs/production.md).
WEB_LIMIT_REQUEST_LINE = 0


def _metrics_clean(*roles: str) -> None:
    """/metrics (issue 13): drop the metrics files of processes gone since the last run."""
    from tocsin.core import prometheus_env

    for role in roles:
        prometheus_env.clean(role)


def _metrics_child_exit(server: Any, worker: Any) -> None:
    from tocsin.core import prometheus_env

    prometheus_env.mark_dead(worker.pid)


def cmd_web(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings
    from django.db import connections
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    _require_migrated()
    _require_free_port(args.host, args.port)
    workers = args.workers or default_web_workers()
    options: dict[str, Any] = {
        "bind": [_bind(args.host, args.port)],
        "workers": workers,
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "preload_app": True,
        "proc_name": "tocsin-web",
        "errorlog": "-",
        "accesslog": "-" if args.access_log else None,
        "logger_class": "tocsin.core.logsafe.RedactingGunicornLogger",
        # gunicorn's control socket defaults to one shared path per user; several
        # Tocsin instances (or test runs) on one machine would fight over it.
        "control_socket_disable": True,
        # gunicorn refuses request lines over 4 KB with an HTML 414 of its own; 0 lifts
        # that to gunicorn's ceiling (1 MB), so Tocsin answers long URLs itself, in JSON.
        "limit_request_line": WEB_LIMIT_REQUEST_LINE,
        # /metrics (issue 13): a web worker that exits stops counting in live gauges.
        "child_exit": _metrics_child_exit,
    }

    class TocsinWeb(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Any]:
            from tocsin.wsgi import application

            return application

    # WhiteNoise serves from the finders; it warns when STATIC_ROOT does not exist.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    connections.close_all()  # never share a connection across the fork
    _metrics_clean("web")
    TocsinWeb().run()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from tocsin.core import prometheus_env

    # /metrics (issue 13): the engine's metrics go to files of their own, read by the web.
    prometheus_env.use_role("worker")
    _metrics_clean("worker")
    from tocsin.engine.engine import default_modules, run_forever, select_modules

    only, skip = _names(args.only), _names(args.skip)
    try:  # the names checked before anything starts
        select_modules(default_modules("check"), only=only, skip=skip)
    except ValueError as exc:
        raise CliError(f"worker: {exc}", EXIT_USAGE) from None
    _require_migrated()
    return run_forever(only=only, skip=skip)


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def cmd_smtp(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings

    from tocsin.incidents import smtp

    port = args.port or settings.TOCSIN_SMTP_PORT
    try:
        return smtp.run(args.host, port)
    except OverflowError:
        raise CliError(f"smtp: port {port} is out of range (1–65535)") from None
    except OSError as exc:
        raise CliError(f"smtp: cannot listen on {_bind(args.host, port)}: {exc.strerror}") from None


# --- tocsin up: three children, stopped together ----------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if `tocsin up` itself dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def supervise(children: dict[str, list[str]], env: dict[str, str], grace: float = 15.0) -> int:
    """Run the children until a signal (exit 0) or until one of them exits (exit 1)."""
    stop: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stop.append(signum)

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    died: tuple[str, int] | None = None
    try:
        for name, command in children.items():
            procs[name] = subprocess.Popen(
                command,
                env=env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        while not stop and died is None:
            for name, proc in procs.items():
                code = proc.poll()
                if code is not None:
                    died = (name, code)
                    break
            time.sleep(0.2)
    finally:
        _stop_children(procs, grace)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if died is not None and not stop:
        name, code = died
        raise CliError(f"{name} exited unexpectedly (status {code}); stopped the others")
    print("tocsin: stopped.", file=sys.stderr)
    return 0


def _stop_children(procs: dict[str, subprocess.Popen[bytes]], grace: float) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs.values():
        remaining = max(0.1, deadline - time.monotonic())
        try:
            proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cmd_up(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings
    from django.db import connections

    applied = _migrate(verbosity=0)
    print(f"Database ready ({_database_label()}); {applied} migration(s) applied.")
    _metrics_clean("web", "worker")  # /metrics (issue 13): before any child writes
    summary = _load_demo() if args.demo else None
    connections.close_all()
    smtp_port = args.smtp_port or settings.TOCSIN_SMTP_PORT
    base = [sys.executable, "-m", "tocsin"]
    children = {
        "web": [*base, "web", "--host", args.host, "--port", str(args.port)],
        **up_workers(base),
        "smtp": [*base, "smtp", "--host", args.host, "--port", str(smtp_port)],
    }
    env = dict(os.environ)
    env["TOCSIN_DATA_DIR"] = str(settings.DATA_DIR)  # the children use the same data
    host = f"[{args.host}]" if ":" in args.host else args.host
    if not os.environ.get("TOCSIN_BASE_URL"):
        # Links in mail (confirmation links) must point where this instance listens.
        env["TOCSIN_BASE_URL"] = f"http://{host}:{args.port}"
    print(f"Tocsin is starting at http://{host}:{args.port}/ (email intake on port {smtp_port})")
    if summary is not None:
        _print_logins(summary)
    print("Press Ctrl-C to stop.", flush=True)
    return supervise(children, env)


def up_workers(base: list[str], cpus: int | None = None) -> dict[str, list[str]]:
    """The engine under `tocsin up`. With two or more CPUs, the outbox's sends run in a
    worker of their own (`worker --only outbox`) beside the rest (`worker --skip
    outbox`): in a storm one worker process was bound by one core, its sends (rendering,
    HTTP, outcomes) nearly half of it, while the second core waited for work
    (docs/benchmarks.md, session 17). Several workers never do the same work twice, so
    the two together do exactly what one does."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    if cpus < 2:
        return {"worker": [*base, "worker"]}
    return {
        "worker": [*base, "worker", "--skip", "outbox"],
        "sender": [*base, "worker", "--only", "outbox"],
    }


def cmd_manage(argv: Sequence[str]) -> int:
    _setup()
    from django.core.management import execute_from_command_line, get_commands

    name = argv[0] if argv else ""
    if name and not name.startswith("-") and name not in ("help", "version", *get_commands()):
        raise CliError(
            f"unknown management command {argv[0]!r} (see '{PROG} manage help')",
            EXIT_USAGE,
        )
    execute_from_command_line([f"{PROG} manage", *argv])
    return 0


# --- the parser -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from tocsin import __version__

    parser = _Parser(
        prog=PROG,
        description="Tocsin: self-hosted incident management.",
        epilog="Environment: DATABASE_URL, TOCSIN_DATA_DIR, TOCSIN_SECRET_KEY, TOCSIN_BASE_URL, "
        "TOCSIN_SMTP_PORT, ... (see docs/).",
    )
    parser.add_argument("--version", action="version", version=f"tocsin {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = commands.add_parser("up", help="migrate, then run web + worker + smtp together")
    up.add_argument("--demo", action="store_true", help="load the demo organisation (once)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=_port, default=8000)
    up.add_argument("--smtp-port", type=_port, default=None, help="default TOCSIN_SMTP_PORT")
    up.set_defaults(func=cmd_up)

    web = commands.add_parser("web", help="the web server (gunicorn, sync workers)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=_port, default=8000)
    web.add_argument(
        "--workers", type=_positive, default=None, help="default TOCSIN_WEB_WORKERS or 2×CPUs+1"
    )
    web.add_argument("--access-log", action="store_true", help="log every request to stdout")
    web.set_defaults(func=cmd_web)

    worker = commands.add_parser("worker", help="the engine: runs its modules every tick")
    worker.add_argument(
        "--only", metavar="NAMES", default=None, help="run only these modules (comma-separated)"
    )
    worker.add_argument("--skip", metavar="NAMES", default=None, help="run every module but these")
    worker.set_defaults(func=cmd_worker)

    smtp = commands.add_parser("smtp", help="the inbound email server")
    smtp.add_argument("--host", default="127.0.0.1")
    smtp.add_argument("--port", type=_port, default=None, help="default TOCSIN_SMTP_PORT or 2525")
    smtp.set_defaults(func=cmd_smtp)

    migrate = commands.add_parser("migrate", help="create or upgrade the database")
    migrate.set_defaults(func=cmd_migrate)

    admin = commands.add_parser(
        "createadmin", help="create an administrator (password from TOCSIN_ADMIN_PASSWORD)"
    )
    admin.add_argument("--username", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="")
    admin.set_defaults(func=cmd_createadmin)

    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_commands.add_parser("create", help="create a token; printed once, last line")
    create.add_argument("username")
    create.add_argument("--name", default="")
    create.set_defaults(func=cmd_token_create)

    demo = commands.add_parser("demo", help="load the demo organisation (once)")
    demo.set_defaults(func=cmd_demo)

    check = commands.add_parser(
        "check", help="system checks, database reachable, pending migrations"
    )
    check.set_defaults(func=cmd_check)

    commands.add_parser(
        "manage", help="any Django management command, e.g. 'tocsin manage shell'", add_help=False
    )
    return parser


def _run(argv: list[str]) -> int:
    from django.db import DatabaseError

    from tocsin.core.env import ConfigError
    from tocsin.core.errors import TocsinError

    try:
        if argv and argv[0] == "manage":
            return cmd_manage(argv[1:])
        args = build_parser().parse_args(argv)
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except TocsinError as exc:
        raise CliError(exc.message) from None
    except ConfigError as exc:
        raise CliError(f"configuration: {_one_line(exc)}") from None
    except DatabaseError as exc:
        raise CliError(f"database: {_one_line(exc)}") from None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except CliError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
