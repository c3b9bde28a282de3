"""The ``studyrec`` command line: thin wrappers over the library, one subcommand each."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from studyrec_lib.core import defaults
from studyrec_lib.core.config import load_settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.files import apply_umask

if TYPE_CHECKING:
    import pandas as pd

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


def _print_json(payload: object) -> None:
    print(json.dumps(payload, default=str))


def _print_frame(frame: pd.DataFrame, as_json: bool) -> None:
    import pandas as pd

    if as_json:
        _print_json(json.loads(frame.to_json(orient="records", date_format="iso")))
    elif frame.empty:
        print("(none)")
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 60):
            print(frame.to_string(index=False))


INGEST_KEYS = ("run_id", "dataset_id", "rows_total", "rows_loaded", "rows_rejected", "rows_superseding",
               "ingest_warnings", "status", "ingest_status", "report", "error")
TRAIN_KEYS = ("run_id", "status", "versions", "activated", "kept_pinned", "chosen", "challenge", "cv_rmse",
              "cv_f1_weighted", "report", "error")


def _exit_code(summary: dict) -> int:
    if summary["status"] == "succeeded":
        return EXIT_OK
    return EXIT_REFUSED if summary.get("ingest_status") == "refused" else EXIT_ERROR


def _os_user() -> str | None:
    """Who runs the command, for ``--uploaded-by``'s default (None when the system cannot say)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and none for the uid
        return None


def _ingest_options(args: argparse.Namespace) -> dict:
    return {"name": args.name, "sheet": args.sheet, "column_map": args.column_map, "strict": args.strict,
            "force": args.force, "refuse_supersede": args.no_replace,
            "uploaded_by": args.uploaded_by if args.uploaded_by is not None else _os_user()}


def cmd_ingest(args: argparse.Namespace) -> int:
    from studyrec_lib.runs import run_ingest

    summary = run_ingest(args.path, **_ingest_options(args), settings=_settings(args), progress=not args.json)
    _report_run(summary, args.json, keys=INGEST_KEYS)
    return _exit_code(summary)


def _folds(args: argparse.Namespace) -> dict:
    """Given --folds, or the library's own number (``core.defaults``; the CLI starts without scikit-learn)."""
    return {"n_folds": args.folds} if args.folds is not None else {}


def cmd_train(args: argparse.Namespace) -> int:
    from studyrec_lib.runs import run_train

    summary = run_train(settings=_settings(args), **_folds(args), progress=not args.json)
    _report_run(summary, args.json, keys=TRAIN_KEYS)
    return _exit_code(summary)


def cmd_pipeline(args: argparse.Namespace) -> int:
    from studyrec_lib.runs import run_pipeline

    summary = run_pipeline(args.path, **_ingest_options(args), settings=_settings(args), **_folds(args),
                           progress=not args.json)
    _report_run(summary, args.json, keys=(*INGEST_KEYS[:-2], *TRAIN_KEYS[1:]))
    return _exit_code(summary)


EXIT_ALERT = 3  # monitoring found drift or a feedback warning (cron can mail on it)


def _monitor_exit_code(summary: dict) -> int:
    if summary["status"] != "succeeded":
        return EXIT_ERROR
    drift, feedback = summary.get("drift") or {}, summary.get("feedback") or {}
    return EXIT_ALERT if drift.get("status") == "drift" or feedback.get("status") == "warning" else EXIT_OK


def _report_monitor(summary: dict, as_json: bool) -> None:
    from studyrec_lib.monitoring import feedback_overview

    drift, feedback = summary.get("drift") or {}, summary.get("feedback") or {}
    decision = summary.get("decision") or {}
    if as_json:
        _print_json({"run_id": summary["run_id"], "status": summary["status"], "error": summary.get("error"),
                     "drift": {k: drift.get(k) for k in ("status", "score", "samples", "threshold", "alerts")}
                     if drift else None,
                     "feedback": feedback_overview(feedback),
                     "decision": decision, "report": summary.get("report")})
        return
    print(f"run {summary['run_id']}: {summary['status']}")
    if drift:
        print(f"drift: {drift['status']} (score {drift['score']:.2f}, {drift['samples']} rows, "
              f"threshold {drift['threshold']:g})")
    if feedback:
        print(f"feedback: {feedback['status']} ({feedback['samples']} predictions with outcomes)")
    for reason in decision.get("reasons", []):
        print(f"- {reason}")
    if summary.get("error"):
        print(f"error: {summary['error']}", file=sys.stderr)
    print(f"report: {summary.get('report')}")


def cmd_monitor(args: argparse.Namespace) -> int:
    from studyrec_lib.runs import run_monitor

    summary = run_monitor(_settings(args), "monitor", progress=not args.json, lookback_days=args.lookback_days,
                          min_samples=args.min_samples, drift_threshold=args.drift_threshold,
                          auto_retrain=args.auto_retrain, feedback_lookback_days=args.feedback_lookback_days,
                          feedback_min_samples=args.feedback_min_samples, mae_alert=args.mae_alert,
                          accuracy_alert=args.accuracy_alert)
    _report_monitor(summary, args.json)
    return _monitor_exit_code(summary)


def cmd_feedback(args: argparse.Namespace) -> int:
    from studyrec_lib.runs import run_monitor

    summary = run_monitor(_settings(args), "feedback", progress=not args.json,
                          feedback_lookback_days=args.lookback_days, feedback_min_samples=args.min_samples,
                          mae_alert=args.mae_alert, accuracy_alert=args.accuracy_alert)
    _report_monitor(summary, args.json)
    return _monitor_exit_code(summary)


def cmd_models(args: argparse.Namespace) -> int:
    from studyrec_lib.registry import list_versions

    _print_frame(list_versions(_settings(args)), args.json)
    return EXIT_OK


def cmd_activate(args: argparse.Namespace) -> int:
    from studyrec_lib.registry import activate

    activated = activate(args.model_version, args.task, reason=args.reason, settings=_settings(args), pinned=True)
    if args.json:
        _print_json({"activated": activated})
    else:
        for task, version in activated.items():
            print(f"{task}: version {version} is now active, pinned: trainings keep it until "
                  "`studyrec unpin` or another `studyrec activate`")
    return EXIT_OK


def cmd_unpin(args: argparse.Namespace) -> int:
    from studyrec_lib.registry import unpin

    unpinned = unpin(args.task, settings=_settings(args))
    if args.json:
        _print_json({"unpinned": unpinned})
    else:
        for task, version in unpinned.items():
            print(f"{task}: version {version} stays active, no longer pinned: the next training may replace it")
        if not unpinned:
            print("no pinned version")
    return EXIT_OK


def _report_run(summary: dict, as_json: bool, keys: tuple[str, ...]) -> None:
    if as_json:
        _print_json({key: summary.get(key) for key in keys})
        return
    print(f"run {summary['run_id']}: {summary['status']}")
    if summary.get("message"):
        print(summary["message"])
    for warning in summary.get("ingest_warnings") or []:
        print(f"warning: {warning}")
    for task, version in (summary.get("kept_pinned") or {}).items():
        print(f"{task}: pinned version {version} kept (activated by hand; `studyrec unpin` lets trainings replace it)")
    for task, version in (summary.get("versions") or {}).items():
        state = "activated" if task in (summary.get("activated") or {}) else "registered, NOT activated"
        print(f"{task}: version {version} ({summary['chosen'][task]}) {state}")
        if (summary.get("challenge") or {}).get(task):
            print(f"  {summary['challenge'][task]['reason']}")
    if summary.get("error") and summary.get("error") != summary.get("message"):
        print(f"error: {summary['error']}", file=sys.stderr)
    print(f"report: {summary.get('report')}")


def cmd_datasets(args: argparse.Namespace) -> int:
    from studyrec_lib.ingest import list_datasets, with_withdrawals

    settings = _settings(args)
    if args.action == "withdraw":
        return _withdraw_dataset(args, settings)
    _print_frame(with_withdrawals(list_datasets(settings), settings), args.json)
    return EXIT_OK


def _withdraw_dataset(args: argparse.Namespace, settings) -> int:
    """``datasets withdraw ID --reason TEXT [--by NAME]``; exit 1 when the withdrawal is refused."""
    from studyrec_lib.ingest import WithdrawalRefused, withdraw_dataset

    if args.dataset_id is None:
        print("error: give the dataset to withdraw: studyrec datasets withdraw ID --reason TEXT", file=sys.stderr)
        return EXIT_ERROR
    try:
        # Where the system cannot name the user either, the library refuses: give --by.
        done = withdraw_dataset(args.dataset_id, args.by or _os_user() or "", args.reason, settings)
    except WithdrawalRefused as refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        _print_json(done)
        return EXIT_OK
    print(f"dataset {done['dataset_id']} ({done['source_file']}) withdrawn by {done['withdrawn_by']}: its "
          f"{done['rows_loaded']} rows no longer count ({done['training_rows_removed']} were training rows); "
          f"{done['training_rows_restored']} rows of earlier uploads are the latest again.")
    for task, version in done["active_models_trained_on_it"].items():
        print(f"the active {task} model (version {version}) learned from it: train again (`studyrec train`) "
              "to leave it out.")
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from studyrec_lib.runs import list_runs

    _print_frame(list_runs(_settings(args)), args.json)
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    import time

    from studyrec_lib.serving import InvalidInput, PredictionSpool, Predictor, new_record

    settings = _settings(args)
    predictor = Predictor(settings)
    if not args.payload and not (args.input and args.output):
        print("error: give --json '{...}' for one prediction, or --input FILE --output FILE", file=sys.stderr)
        return EXIT_ERROR
    args.json = args.payload == ""
    spool = PredictionSpool(settings, source="cli" if args.payload else "batch")
    try:
        if args.payload:
            try:
                payload = json.loads(args.payload)
            except json.JSONDecodeError as error:
                print(f"error: --json is not valid JSON: {error}", file=sys.stderr)
                return EXIT_REFUSED
            started = time.perf_counter()
            try:
                result = predictor.predict(payload)
            except InvalidInput as error:
                _print_json({"errors": [e.as_dict() for e in error.errors]})
                return EXIT_REFUSED
            spool.append(new_record("cli", None, payload, result, (time.perf_counter() - started) * 1000))
            _print_json(result)
            return EXIT_OK
        return _predict_file(args, predictor, spool)
    finally:
        spool.close()


def _predict_file(args: argparse.Namespace, predictor, spool) -> int:
    """Score every row of ``--input`` into ``--output``; exit 1 when the file is refused or no row scores."""
    from studyrec_lib.core.errors import FileRefused
    from studyrec_lib.serving import NothingScored, score_file

    def report(summary: dict) -> None:
        bad = summary["rows_with_errors"]
        _print_json(summary) if args.json else print(
            f"scored {summary['scored']} of {summary['rows']} rows into {summary['output']}"
            + (f"; {bad} rows have input errors (column 'errors')" if bad else ""))

    try:
        summary = score_file(args.input, args.output, predictor, spool, _settings(args), sheet=args.sheet,
                             column_map=args.column_map)
    except NothingScored as refusal:  # the output holds every row's errors: summed up, then refused
        report(refusal.summary)
        print(f"error: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    except FileRefused as refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    report(summary)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE
    from studyrec_lib.web.api_config import ENV_REQUEST_TIMEOUT
    from studyrec_lib.web.http_server import uvicorn_limits

    settings = _settings(args)
    # Every worker process builds the app from the environment (tokens, rate limits and models are shared
    # through files beside the warehouse; each worker has its own prediction spool).
    os.environ[ENV_WAREHOUSE], os.environ[ENV_RUNS] = str(settings.warehouse), str(settings.runs_dir)
    if args.request_timeout is not None:
        os.environ[ENV_REQUEST_TIMEOUT] = str(args.request_timeout)
    # uvicorn says nothing at log level warning: this line tells whoever started it where to look
    base = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}"
    print(f"StudyRec API: {base}/ (docs: {base}/docs, {base}/redoc)", flush=True)
    uvicorn.run("studyrec_lib.web.api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False,
                **uvicorn_limits(args.max_connections))
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    from studyrec_lib.web import AppServerOptions, serve_app

    options = AppServerOptions(host=args.host, port=args.port, pool_size=args.pool_size,
                               preheat=args.pool_size > 0, cull_idle_timeout_s=args.cull_idle_timeout)
    return serve_app(_settings(args), options)


def cmd_tokens(args: argparse.Namespace) -> int:
    from studyrec_lib.web import create_token, list_tokens, revoke_token

    settings = _settings(args)
    if args.action == "create":
        if not args.student_id:
            print("error: tokens create needs --student-id", file=sys.stderr)
            return EXIT_ERROR
        token_id, token = create_token(args.student_id, args.name, settings, expires_in_days=args.expires_days)
        if args.json:
            _print_json({"token_id": token_id, "student_id": args.student_id, "token": token})
        else:
            print(f"token {token_id} for student {args.student_id}, valid {args.expires_days:g} days "
                  "(shown once; only its hash is stored):")
            print(token)
    elif args.action == "revoke":
        token_id = revoke_token(args.token_id, args.token, settings)
        print(f"token {token_id} revoked")
    else:
        _print_frame(list_tokens(settings), args.json)
    return EXIT_OK


def cmd_accounts(args: argparse.Namespace) -> int:
    from studyrec_lib.web.accounts import link_account, list_accounts, unlink_account

    settings = _settings(args)
    if args.action == "link":
        link_account(args.hub_user or "", args.student_id or "", settings)
        print(f"hub account {args.hub_user.strip().lower()} is student {args.student_id.strip()}")
    elif args.action == "unlink":
        unlink_account(args.hub_user or "", settings)
        print(f"hub account {args.hub_user.strip().lower()} unlinked")
    else:
        _print_frame(list_accounts(settings), args.json)
    return EXIT_OK


def cmd_resources(args: argparse.Namespace) -> int:
    from studyrec_lib.serving import load_resources

    loaded = load_resources(args.file, _settings(args))
    print(f"loaded {loaded} study resources from {args.file}")
    return EXIT_OK


def cmd_security(args: argparse.Namespace) -> int:
    from studyrec_lib.web import smoke_test

    report = smoke_test(args.host, _settings(args))
    _print_json(report)
    return EXIT_REFUSED if args.strict and not report["ok"] else EXIT_OK


def _settings(args: argparse.Namespace):
    return load_settings(
        warehouse=args.warehouse, runs_dir=args.runs_dir, max_upload_mb=getattr(args, "max_upload_mb", None)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studyrec", description=__doc__)
    paths = argparse.ArgumentParser(add_help=False)
    paths.add_argument("--warehouse", help="DuckDB file (default: $STUDYREC_WAREHOUSE or ./warehouse.duckdb)")
    paths.add_argument("--runs-dir", help="folder of run folders (default: $STUDYREC_RUNS or runs/ beside it)")
    common = argparse.ArgumentParser(add_help=False, parents=[paths])
    common.add_argument("--json", action="store_true", help="print JSON (the summary is the last line)")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest_options = argparse.ArgumentParser(add_help=False)
    ingest_options.add_argument("path", nargs="?", help="CSV or XLSX file (default: the example data set)")
    ingest_options.add_argument("--name", help="dataset name (default: the file name)")
    ingest_options.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    ingest_options.add_argument("--column-map", help='JSON file: {"Roll": "student_id", ...}')
    ingest_options.add_argument("--strict", action="store_true", help="refuse the whole file if any row is bad")
    ingest_options.add_argument("--force", action="store_true", help="load again even if loaded before")
    ingest_options.add_argument("--no-replace", action="store_true",
                                help="refuse the file (exit 1, nothing loaded) if any of its rows would replace a "
                                     "row loaded before for the same student, semester and subject (by default "
                                     "they replace them, with a warning)")
    ingest_options.add_argument("--uploaded-by", metavar="NAME",
                                help="who uploads, stored with the dataset (default: the OS user)")
    ingest_options.add_argument("--max-upload-mb", type=float, help="refuse files larger than this")
    folds = argparse.ArgumentParser(add_help=False)
    folds.add_argument("--folds", type=int, default=None,
                       help="cross-validation folds, grouped by student (default: the library's)")

    sub.add_parser("ingest", parents=[common, ingest_options], help="validate a CSV/XLSX file and load it"
                   ).set_defaults(handler=cmd_ingest)
    sub.add_parser("train", parents=[common, folds], help="run 02_train and 03_evaluate; activate what passes"
                   ).set_defaults(handler=cmd_train)
    sub.add_parser("pipeline", parents=[common, ingest_options, folds], help="ingest, train and evaluate"
                   ).set_defaults(handler=cmd_pipeline)
    alerts = argparse.ArgumentParser(add_help=False)
    alerts.add_argument("--mae-alert", type=float, default=defaults.FEEDBACK_MAE_ALERT,
                        help="feedback warns when MAE >= this")
    alerts.add_argument("--accuracy-alert", type=float, default=defaults.FEEDBACK_ACCURACY_ALERT,
                        help="feedback warns when accuracy <= this")
    monitor = sub.add_parser("monitor", parents=[common, alerts],
                             help="run 04_monitor: drift and feedback; exit 3 on an alert")
    monitor.add_argument("--lookback-days", type=float, default=defaults.DRIFT_LOOKBACK_DAYS)
    monitor.add_argument("--min-samples", type=int, default=defaults.DRIFT_MIN_SAMPLES)
    monitor.add_argument("--drift-threshold", type=float, default=defaults.DRIFT_THRESHOLD,
                         help="alert when a feature may have moved this many training SDs (significant shifts)")
    monitor.add_argument("--auto-retrain", action="store_true", help="retrain on drift; activate only past the gate")
    monitor.add_argument("--feedback-lookback-days", type=float, default=defaults.FEEDBACK_LOOKBACK_DAYS)
    monitor.add_argument("--feedback-min-samples", type=int, default=defaults.FEEDBACK_MIN_SAMPLES)
    monitor.set_defaults(handler=cmd_monitor)
    feedback = sub.add_parser("feedback", parents=[common, alerts],
                              help="compare logged predictions with real outcomes; exit 3 on a warning")
    feedback.add_argument("--lookback-days", type=float, default=defaults.FEEDBACK_LOOKBACK_DAYS)
    feedback.add_argument("--min-samples", type=int, default=defaults.FEEDBACK_MIN_SAMPLES)
    feedback.set_defaults(handler=cmd_feedback)
    sub.add_parser("models", parents=[common], help="list registered model versions").set_defaults(
        handler=cmd_models)
    activate = sub.add_parser("activate", parents=[common], help="activate (or roll back to) a model version")
    activate.add_argument("--model-version", required=True, help="version, e.g. 20261125174500")
    activate.add_argument("--task", choices=("regression", "classification", "both"), default="both")
    activate.add_argument("--reason", default="rollback", help="recorded in the activation history")
    activate.set_defaults(handler=cmd_activate)
    unpin_parser = sub.add_parser("unpin", parents=[common], help="let trainings replace a version activated by hand")
    unpin_parser.add_argument("--task", choices=("regression", "classification", "both"), default="both")
    unpin_parser.set_defaults(handler=cmd_unpin)

    predict = sub.add_parser("predict", parents=[paths], help="score a file of rows, or one JSON input")
    predict.add_argument("--input", help="CSV or XLSX of rows to score")
    predict.add_argument("--output", help="CSV or XLSX to write (with --input)")
    predict.add_argument("--sheet", help="Excel sheet of --input (default: the first sheet)")
    predict.add_argument("--column-map", help='JSON file mapping --input\'s headers: {"Roll": "student_id", ...}')
    predict.add_argument("--json", dest="payload", nargs="?", const="", metavar="JSON",
                         help="one input as JSON ('{\"semester\": 3, ...}'): prints its result; "
                              "bare with --input: print the summary as JSON")
    predict.set_defaults(handler=cmd_predict)

    serve = sub.add_parser("serve", parents=[common], help="run the JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                       help="server processes (default: one per core, at most 2)")
    serve.add_argument("--max-connections", type=int, metavar="N",
                       help="open connections per worker; beyond them 503 at once (default 256)")
    serve.add_argument("--request-timeout", type=float, metavar="S",
                       help="seconds a request's head, and then its body, may take to arrive "
                            "(default $STUDYREC_REQUEST_TIMEOUT_S or 10)")
    serve.set_defaults(handler=cmd_serve)

    app = sub.add_parser("app", parents=[common], help="serve the student app (Voila) with preheated kernels")
    app.add_argument("--host", default="127.0.0.1")
    app.add_argument("--port", type=int, default=8866)
    app.add_argument("--pool-size", type=int, default=2, help="preheated kernels kept ready (0: no preheating)")
    app.add_argument("--cull-idle-timeout", type=int, default=120,
                     help="seconds before a kernel with no open page is stopped")
    app.set_defaults(handler=cmd_app)

    token_parser = sub.add_parser("tokens", parents=[common], help="create, revoke or list API tokens")
    token_parser.add_argument("action", choices=("create", "revoke", "list"))
    token_parser.add_argument("--student-id")
    token_parser.add_argument("--name")
    token_parser.add_argument("--token-id", type=int)
    token_parser.add_argument("--token")
    token_parser.add_argument("--expires-days", type=float, default=defaults.TOKEN_DAYS,
                              help=f"days until a new token ends (default {defaults.TOKEN_DAYS})")
    token_parser.set_defaults(handler=cmd_tokens)

    accounts = sub.add_parser("accounts", parents=[common], help="link hub accounts to student ids")
    accounts.add_argument("action", choices=("link", "unlink", "list"))
    accounts.add_argument("--hub-user", help="the student's JupyterHub user name")
    accounts.add_argument("--student-id", help="the student id in the teachers' files")
    accounts.set_defaults(handler=cmd_accounts)

    resource_parser = sub.add_parser("resources", parents=[common], help="load a study-resources CSV")
    resource_parser.add_argument("action", choices=("load",))
    resource_parser.add_argument("file", help="CSV with subject, component, title, url")
    resource_parser.set_defaults(handler=cmd_resources)

    security = sub.add_parser("security-smoke-test", parents=[common], help="check the deployment")
    security.add_argument("--host", default="127.0.0.1", help="the address the API is served on")
    security.add_argument("--strict", action="store_true", help="exit 1 when anything is found")
    security.set_defaults(handler=cmd_security)

    datasets = sub.add_parser("datasets", parents=[common],
                              help="list the uploaded datasets, or withdraw one (a mistaken upload)")
    datasets.add_argument("action", nargs="?", choices=("list", "withdraw"), default="list")
    datasets.add_argument("dataset_id", nargs="?", type=int, help="the dataset to withdraw")
    datasets.add_argument("--reason", help="why it is withdrawn (recorded and shown in the uploads' history)")
    datasets.add_argument("--by", help="who withdraws it (default: the operating system's user name)")
    datasets.set_defaults(handler=cmd_datasets)
    sub.add_parser("runs", parents=[common], help="list runs").set_defaults(handler=cmd_runs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        apply_umask()  # before anything is written: DuckDB, papermill, kernels and workers inherit it
        return args.handler(args)
    except StudyRecError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
