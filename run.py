"""Command line: the demo (default), the server, the timer worker and the engine's use cases."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from engine.authoring.migration import run_queued_jobs
from engine.authoring.versions import check_files, deploy, refusal_lines
from engine.bootstrap import build_services
from engine.casework.accounts import issue_token, password_hash_of, revoke_tokens, seed_users, set_password_hash
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.mail import MailSettings, mailer_from
from engine.casework.queries import my_tasks
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.casework.worker import run_worker, start_background_worker
from engine.clock import FrozenClock
from engine.errors import EngineError, InvalidDiagram, InvalidSubmission, Problem
from engine.ports import Assignment
from engine.workflow.catalogue import load_catalogue
from engine.workflow.specs import diagram_paths, read_diagrams
from web import config


def _services(args: argparse.Namespace, clock: Any = None) -> Services:
    services, _ = build_services(config.database_url(), config.forms_dir(), clock)
    return services


def _diagrams(paths: list[str]) -> dict[str, bytes]:
    """The .bpmn files under `paths`, keyed as they are deployed (InvalidDiagram naming a folder with none)."""
    return {key: data for key, (_, data) in _diagram_files(paths).items()}


def _diagram_files(paths: list[str]) -> dict[str, tuple[str, bytes]]:
    """The .bpmn files under `paths` keyed as deployed, each with its path as given and its content."""
    root = config.bpmn_dir()
    resolved = [Path(p) for p in paths]
    inside = all(str(p.resolve()).startswith(str(root.resolve())) for p in resolved)
    found: dict[str, tuple[str, bytes]] = {}
    problems: list[Problem] = []
    for path in resolved:
        files = diagram_paths([path], root if inside else None)
        if path.is_dir() and not files:
            problems.append(Problem("no_diagrams", "the folder holds no .bpmn file: give a .bpmn file or a folder "
                                    "holding some instead", file=str(path)))
        for key, file in files.items():
            if key in found and found[key][0] != str(file):
                problems.append(Problem("same_name", f"{found[key][0]} has the same name: check files of the same "
                                        "name one at a time instead", file=str(file)))
                continue
            try:
                found[key] = (str(file), file.read_bytes())
            except OSError as exc:
                problems.append(Problem("unreadable", f"cannot read the file ({exc.strerror or exc}): give a file "
                                        "you may read instead", file=str(file)))
    if problems:
        raise InvalidDiagram(problems)
    return found


def cmd_init_db(args: argparse.Namespace) -> int:
    """Create or migrate the database schema."""
    _services(args)
    print(f"database ready: {config.database_url()}")
    return 0


def cmd_check_diagram(args: argparse.Namespace) -> int:
    """Validate diagrams without storing anything: report on exactly the processes the given files define."""
    files: dict[str, tuple[str, bytes]] = {}
    try:
        files = _diagram_files(args.paths)
        checked = check_files(_services(args), {key: data for key, (_, data) in files.items()})
    except InvalidDiagram as exc:
        diagrams = {key: data for key, (_, data) in files.items()}
        for line in refusal_lines(exc.problems, diagrams, {key: shown for key, (shown, _) in files.items()}):
            print(line, file=sys.stderr)
        return 2
    for process in checked:
        compiled = process.compiled
        humans = sum(1 for spec in (compiled.spec, *compiled.subprocess_specs.values())
                     for t in spec.task_specs.values() if getattr(t, "manual", False))
        name = f' "{process.name}"' if process.name else ""
        deployed = f" (deployed: {', '.join(process.calls_deployed)})" if process.calls_deployed else ""
        print(f"{files[process.file][0]}: ok: {process.process_id}{name}: {len(compiled.subprocess_specs)} called "
              f"processes{deployed}, {humans} human tasks, {sum(1 for f in compiled.files if f.startswith('forms/'))} "
              f"forms, hash {compiled.content_hash[:12]}")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    """Validate and store new process versions."""
    versions = deploy(_services(args), _diagrams(args.paths), by=args.user)
    for version in versions:
        print(f"deployed {version.process_id} as version {version.id} ({version.content_hash[:12]})")
    if not versions:
        print("nothing new: every process is already deployed with exactly these files")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    """Create the demo users of forms/users.json."""
    services = _services(args)
    added = seed_users(services, load_catalogue(config.forms_dir()).users)
    print(f"{added} demo users added")
    return 0


def cmd_start_case(args: argparse.Namespace) -> int:
    """Start a case of a board as a user."""
    data = args.data
    record = start_case(_services(args), args.board, args.user, data)
    print(f"started {record.reference} (case {record.id})")
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    """List cases."""
    services = _services(args)
    with services.uow() as uow:
        for record in uow.cases.list():
            print(f"{record.id:>5}  {record.reference:<16} {record.board:<20} {record.status:<10} "
                  f"updated {record.updated_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    """List deployed process versions."""
    services = _services(args)
    with services.uow() as uow:
        for version in uow.versions.list():
            print(f"{version.id:>4}  {version.process_id:<32} {version.content_hash[:12]}  "
                  f"deployed {version.deployed_at:%Y-%m-%d %H:%M} by {version.deployed_by or '-'}")
    return 0


def cmd_reproject(args: argparse.Namespace) -> int:
    """Write the monitor's projection of cases started before it existed."""
    from engine.monitoring.reproject import reproject_cases

    print(f"projected {reproject_cases(_services(args))} case(s)")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    """List a user's inbox."""
    for task in my_tasks(_services(args), args.user):
        due = f"due {task.due_at:%Y-%m-%d}" if task.due_at else "no due date"
        print(f"{task.id}  case {task.case_id}  {task.title}  [{task.role}{'/' + task.agency if task.agency else ''}]"
              f"  {due}")
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    """Complete a task with form data read from a JSON file."""
    data = args.data or {}
    done = complete_task(_services(args), args.task_id, args.user, data)
    print(f"completed; case {done.case.reference} is {done.case.status}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Issue an API bearer token for a user (shown once; only its hash is kept)."""
    print(issue_token(_services(args), args.user))
    return 0


def cmd_revoke_token(args: argparse.Namespace) -> int:
    """Revoke every API token of a user (a lost laptop, someone leaving); they sign no one in again."""
    revoked = revoke_tokens(_services(args), args.user, by="run.py")
    print(f"revoked {revoked} token{'s' if revoked != 1 else ''} of {args.user}")
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    """Set a user's password, read from standard input."""
    from web.accounts import Passwords

    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("a password needs at least 12 characters", file=sys.stderr)
        return 3
    set_password_hash(_services(args), args.user, Passwords().hash(password), by="run.py")
    print("password set")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    """Give a user a role (board-wide, or on one case with --case)."""
    assign_role(_services(args), Assignment(args.user, args.role, args.board, args.case, args.agency))
    print("assigned")
    return 0


def cmd_fire_timers(args: argparse.Namespace) -> int:
    """Fire every timer due now (or at --now)."""
    clock = FrozenClock(args.now) if args.now else None
    print(f"fired timers on {fire_due_timers(_services(args, clock), limit=10_000)} case(s)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the timer worker in the foreground."""
    config.refuse_unsafe_production()
    services = _services(args)
    _warm_up(services)
    print("timer worker running; Ctrl-C stops it")
    try:
        run_worker(services, threading.Event(), args.poll, mailer=mailer_from(_mail_settings(args)),
                   jobs=run_queued_jobs)
    except KeyboardInterrupt:
        pass
    return 0


def _mail_settings(args: argparse.Namespace) -> MailSettings:
    """Mail settings whose links point at this app unless SCR_BASE_URL says otherwise."""
    return config.mail_settings(f"http://{args.host}:{args.port}")


def cmd_mail(args: argparse.Namespace) -> int:
    """Queue mail about new work, overdue work and notices, then deliver it, once."""
    mailer = mailer_from(_mail_settings(args))
    if mailer is None:
        print("mail is switched off (SCR_MAIL_TRANSPORT=none)")
        return 0
    done = mailer.run(_services(args))
    print(f"{done.queued} message(s) queued, {done.sent} sent, {done.failed} failed")
    return 1 if done.failed else 0


def _demo_passwords(services: Services) -> None:
    """Give demo accounts that have none the demo password of forms/users.json."""
    from web.accounts import Passwords

    password = services.catalogue.demo_password
    if not password:
        return
    hasher = Passwords()
    for user in services.catalogue.users:
        if password_hash_of(services, user["username"]) is None:
            set_password_hash(services, user["username"], hasher.hash(password), by="demo")


def _warm_up(services: Services) -> None:
    """Compile the process versions in use before serving or firing timers, saying how long it took."""
    started = time.perf_counter()
    count = services.warm_up()
    if count:
        print(f"{count} process versions compiled in {time.perf_counter() - started:.1f} s", flush=True)
    else:  # the demo's first cases compiled them already
        print("the process versions in use are compiled", flush=True)


def cmd_serve(args: argparse.Namespace, demo: bool = False) -> int:
    """Start the web app and the timer worker in the background."""
    from web import create_app, freeze_startup_heap
    from web.safety import QuietRequestHandler

    if not demo:
        config.refuse_unsafe_production()
    services = _services(args)
    if demo:
        versions = deploy(services, read_diagrams([config.bpmn_dir()]), by="demo")
        added = seed_users(services, services.catalogue.users)
        print(f"demo: {len(versions)} new process versions deployed, {added} demo users added")
        _demo_passwords(services)
        with services.uow() as uow:
            fresh = uow.cases.count() == 0
        for user in services.catalogue.users if fresh else []:
            if user.get("demo_starts_case") and user.get("board"):
                record = start_case(services, user["board"], user["username"])
                print(f"demo: case {record.reference} started by {user['username']}")
        print(f"demo users (password for every one: {services.catalogue.demo_password}):")
        for user in services.catalogue.users:
            print(f"  {user['username']:<28} {', '.join(user.get('roles', [])) or 'case roles assigned per case'}")
    _warm_up(services)
    mail = _mail_settings(args)
    start_background_worker(services, mailer=mailer_from(mail), jobs=run_queued_jobs)
    if mail.transport == "file":
        print(f"e-mail about work is written to {mail.directory} as .eml files")
    app = create_app(services)
    freeze_startup_heap()
    print(f"the app answers on http://{args.host}:{args.port}/  (sign in there; Ctrl-C stops it)", flush=True)
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False,
            request_handler=QuietRequestHandler)  # no Server header naming Werkzeug or Python
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse that answers a mistake in one line (and exit 2), naming the command and pointing at --help."""

    def error(self, message: str) -> NoReturn:
        """Print `<command>: <message>` and exit 2."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def instant(text: str) -> datetime:
    """An ISO date or date-time; without an offset it is read in the configured zone (Europe/London)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date or time like 2027-01-16 or 2027-01-16T09:00"
                                         ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=config.time_zone())


def json_file(text: str) -> dict[str, Any]:
    """A JSON object read from a file."""
    try:
        data = json.loads(Path(text).read_text(encoding="utf-8"))
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError(f"{text} must hold a JSON object of form fields")
    return data


def existing_path(text: str) -> str:
    """A file or folder that exists."""
    try:
        found = bool(text.strip()) and Path(text).exists()
    except (OSError, ValueError):  # a name too long for the system, a NUL byte
        found = False
    if not found:
        raise argparse.ArgumentTypeError(f"no file or folder {text[:200]}")
    return text


def parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    p = OneLineParser(prog="run.py", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    sub = p.add_subparsers(dest="command")
    sub.add_parser("demo", help="deploy bpmn/, seed demo users, serve (the default)")
    sub.add_parser("serve", help="serve the web app and the timer worker")
    sub.add_parser("init-db", help="create or migrate the database")
    for name, func_help in (("deploy", "validate and store diagrams"), ("check-diagram", "validate only")):
        s = sub.add_parser(name, help=func_help)
        s.add_argument("paths", nargs="+", type=existing_path)
        if name == "deploy":
            s.add_argument("--user", default=None)
    sub.add_parser("seed-users", help="create the demo users")
    s = sub.add_parser("start-case")
    s.add_argument("--board", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--data", type=json_file, help="a JSON file of the first task's answers")
    sub.add_parser("cases")
    sub.add_parser("versions")
    s = sub.add_parser("tasks")
    s.add_argument("--user", required=True)
    s = sub.add_parser("complete")
    s.add_argument("task_id")
    s.add_argument("--user", required=True)
    s.add_argument("--data", type=json_file, help="a JSON file of the form's answers")
    s = sub.add_parser("token", help="issue an API bearer token (it works for 90 days)")
    s.add_argument("--user", required=True)
    s = sub.add_parser("revoke-token", help="revoke every API bearer token of a user")
    s.add_argument("--user", required=True)
    s = sub.add_parser("password", help="set a password (read from standard input)")
    s.add_argument("--user", required=True)
    s = sub.add_parser("assign")
    s.add_argument("--user", required=True)
    s.add_argument("--role", required=True)
    s.add_argument("--board")
    s.add_argument("--case", type=int)
    s.add_argument("--agency")
    s = sub.add_parser("fire-timers")
    s.add_argument("--now", type=instant,
                   help="the date or time to treat as now; without an offset, in SCR_TIME_ZONE (Europe/London)")
    sub.add_parser("mail", help="queue and deliver e-mail once")
    sub.add_parser("reproject", help="write the monitor's view of cases started before it existed")
    s = sub.add_parser("worker")
    s.add_argument("--poll", type=float, default=1.0)
    s = sub.add_parser("leak-scan", help="scan files for what a case's anonymisation key says is identifying")
    s.add_argument("--key", required=True, help="the case's anonymisation key (JSON)")
    s.add_argument("files", nargs="+", metavar="FILE", help=".docx, .odt, .pdf, .html, .csv, .eml, .zip or text")
    sub.add_parser("verify-audit", help="verify every case's audit hash chain (exit 1 naming a tampered event)")
    s = sub.add_parser("purge-closed", help="delete closed cases past retention, leaving a tombstone (dry run "
                       "unless --yes)")
    s.add_argument("--older-than-days", type=int, default=None,
                   help="days after closing a case is kept (default: SCR_RETENTION_DAYS)")
    s.add_argument("--yes", action="store_true", help="purge; without it nothing is deleted")
    s.add_argument("--user", default="run.py", help="who purges, as the tombstone records it")
    s.add_argument("--now", type=instant, help="the date or time to treat as now")
    return p


def cmd_verify_audit(args: argparse.Namespace) -> int:
    """Walk every audit chain: one line when all verify, else the first tampered event of each broken chain
    (exit 1)."""
    from engine.store.audit import verify_database

    _, engine = build_services(config.database_url(), config.forms_dir())
    try:
        report = verify_database(engine)
    finally:
        engine.dispose()
    for broken in report.breaks:
        print(broken.line(report.references.get(broken.case_id or 0)))
    outside = report.events - report.case_events
    counted = (f"{report.case_events} event{'s' if report.case_events != 1 else ''} in {report.cases} "
               f"case{'s' if report.cases != 1 else ''}; {outside} event{'s' if outside != 1 else ''} of no case")
    if report.breaks:
        print(f"audit chain BROKEN in {len(report.breaks)} chain{'s' if len(report.breaks) != 1 else ''} "
              f"({counted})", file=sys.stderr)
        return 1
    print(f"audit chain ok: {counted}")
    return 0


def cmd_purge_closed(args: argparse.Namespace) -> int:
    """List (by default) or purge (--yes) the cases closed more than N days ago, each leaving a tombstone."""
    from engine.casework.mailer import FileTransport
    from engine.store.retention import expired, purge

    days = args.older_than_days if args.older_than_days is not None else config.retention_days()
    if days is None:
        print("run.py purge-closed: say how long closed cases are kept: --older-than-days N or SCR_RETENTION_DAYS",
              file=sys.stderr)
        return 2
    services, engine = build_services(config.database_url(), config.forms_dir(),
                                      FrozenClock(args.now) if args.now else None)
    try:
        now = services.clock.now()
        cutoff = now - timedelta(days=days)
        mail = _mail_settings(args)
        files_of = FileTransport(mail.directory).path_of if mail.transport == "file" else None
        due = expired(engine, cutoff, files_of)
        purged = 0
        for case in due:
            tables = ", ".join(f"{table} {n}" for table, n in case.rows.items())
            print(f"{'purging' if args.yes else 'would purge'} {case.reference} (case {case.case_id}), closed "
                  f"{case.closed_at:%Y-%m-%d}: {case.total} rows ({tables}), {len(case.files)} mail files")
            if args.yes and purge(engine, case.case_id, cutoff, now, args.user, days, files_of) is None:
                print(f"  {case.reference} changed meanwhile: not purged")
            else:
                purged += 1
    finally:
        engine.dispose()
    closed = f"{purged} case{'s' if purged != 1 else ''} closed before {cutoff:%Y-%m-%d} ({days} days)"
    print(f"purged {closed}; each left a case_purged tombstone in the audit log" if args.yes else
          f"dry run, nothing deleted: {closed}; add --yes to purge")
    return 0


def cmd_leak_scan(args: argparse.Namespace) -> int:
    """One line per finding on standard output; exit 1 when anything leaks, 2 when a file or the key cannot be
    read, 0 when every file is clean. No line ever contains the identifying text itself."""
    from engine.documents.key import load_key
    from engine.documents.leakscan import ScanError, scan_files

    try:
        key = load_key(Path(args.key).read_bytes())
    except OSError as exc:
        print(f"run.py leak-scan: cannot read the key {args.key}: {exc.strerror}", file=sys.stderr)
        return 2
    except InvalidSubmission as exc:
        print(f"run.py leak-scan: the key {args.key} cannot be used:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error.field}: {error.message}", file=sys.stderr)
        return 2
    findings = unreadable = 0
    for result in scan_files([Path(f) for f in args.files], key):
        if isinstance(result, ScanError):
            unreadable += 1
            print(f"cannot scan {result}", file=sys.stderr)
            continue
        findings += 1
        print(result.line(), flush=False)
    print(f"{findings} finding{'s' if findings != 1 else ''} in {len(args.files)} file"
          f"{'s' if len(args.files) != 1 else ''}" + (f"; {unreadable} could not be scanned" if unreadable else ""),
          file=sys.stderr)
    if findings:
        return 1
    return 2 if unreadable else 0


COMMANDS = {
    "init-db": cmd_init_db, "check-diagram": cmd_check_diagram, "deploy": cmd_deploy, "seed-users": cmd_seed,
    "start-case": cmd_start_case, "cases": cmd_cases, "versions": cmd_versions, "tasks": cmd_tasks,
    "complete": cmd_complete, "assign": cmd_assign, "token": cmd_token, "revoke-token": cmd_revoke_token,
    "password": cmd_password,
    "fire-timers": cmd_fire_timers, "worker": cmd_worker, "mail": cmd_mail, "reproject": cmd_reproject,
    "leak-scan": cmd_leak_scan, "verify-audit": cmd_verify_audit, "purge-closed": cmd_purge_closed,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; engine errors become a message and a non-zero exit."""
    args = parser().parse_args(argv)
    try:
        if args.command in (None, "demo"):
            return cmd_serve(args, demo=True)
        if args.command == "serve":
            return cmd_serve(args)
        return COMMANDS[args.command](args)
    except InvalidDiagram as exc:
        files = sorted({p.file for p in exc.problems if p.file})
        print(f"refused, nothing stored: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}"
              f"{' in ' + ', '.join(files) if files else ''}", file=sys.stderr)
        for problem in dict.fromkeys(exc.problems):
            print(f"  {problem}", file=sys.stderr)
        return 2
    except InvalidSubmission as exc:
        print("the form has errors:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error.field or 'form'}: {error.message}", file=sys.stderr)
        return 3
    except EngineError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback: one line a person can act on
        print(f"run.py {args.command or 'demo'}: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    """The first line of an error's message (database drivers write several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no details"


if __name__ == "__main__":
    sys.exit(main())
