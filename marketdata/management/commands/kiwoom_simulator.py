from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketdata.krx_calendar import KST
from marketdata.simulator.market import DEFAULT_MINUTE_HISTORY_DAYS
from marketdata.simulator.server import DEFAULT_MAX_RPS, FIELD_GENERATIONS, Faults, SimulatorServer


class Command(BaseCommand):
    # The simulator needs neither the database nor the project's models.
    requires_system_checks = []
    help = (
        "Runs the Kiwoom REST API simulator: token, ka10099 stock list and ka10080/81/82/83 "
        "charts over a deterministic synthetic KRX market (simulated market data, no internet). "
        "Point KIWOOM_BASE_URL at it. Fault switches set here can be changed at run time with "
        "POST /_simulator/faults; GET /_simulator/state shows them and the request counters; "
        "POST /_simulator/clock moves 'now'. Ctrl-C stops it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.KIWOOM_SIMULATOR_PORT)
        parser.add_argument(
            "--now",
            help="ISO datetime for the market clock (naive = KST); default: real time",
        )
        parser.add_argument(
            "--clock-running",
            action="store_true",
            help="with --now: start the clock there and let it run with real time",
        )
        parser.add_argument(
            "--page-size", type=int, help="rows per page (default: 900 minute, 600 daily-type)"
        )
        parser.add_argument(
            "--max-rps",
            type=float,
            default=DEFAULT_MAX_RPS,
            help=f"requests per second per app key before 1700 (0: no limit; default "
            f"{DEFAULT_MAX_RPS:g})",
        )
        parser.add_argument("--fields", choices=FIELD_GENERATIONS, default="current")
        parser.add_argument("--minute-history-days", type=int, default=DEFAULT_MINUTE_HISTORY_DAYS)
        parser.add_argument("--appkey", help="accept only this app key (default: any)")
        parser.add_argument("--secretkey", help="accept only this secret key (default: any)")
        faults = parser.add_argument_group("fault switches")
        faults.add_argument("--latency-ms", type=int, default=0)
        faults.add_argument("--fail-rate", type=float, default=0.0, help="fraction answered 5xx")
        faults.add_argument("--fail-next", type=int, default=0, help="next N requests 5xx")
        faults.add_argument("--fail-status", type=int, default=500)
        faults.add_argument("--fail-seed", type=int, default=0)
        faults.add_argument("--rate-limit-next", type=int, default=0, help="next N get 1700")
        faults.add_argument("--malformed-next", type=int, default=0, help="next N bad JSON")
        faults.add_argument(
            "--duplicate-rows",
            action="store_true",
            help="continuation pages repeat the previous page's last row",
        )
        faults.add_argument(
            "--token-lifetime", type=int, default=Faults.token_lifetime_s, help="seconds"
        )
        faults.add_argument(
            "--stuck-next-key",
            action="store_true",
            help="continuations answer cont-yn Y with the next-key they were given, forever",
        )
        faults.add_argument(
            "--repeat-pages",
            action="store_true",
            help="chart continuations repeat the first page's rows under a fresh next-key",
        )

    def handle(self, *args, **options):
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as error:
                raise CommandError(f"--now: {error}") from None
            if now.tzinfo is None:
                now = now.replace(tzinfo=KST)
        faults = Faults(
            latency_ms=options["latency_ms"],
            fail_next=options["fail_next"],
            fail_rate=options["fail_rate"],
            fail_status=options["fail_status"],
            fail_seed=options["fail_seed"],
            rate_limit_next=options["rate_limit_next"],
            malformed_next=options["malformed_next"],
            duplicate_rows=options["duplicate_rows"],
            token_lifetime_s=options["token_lifetime"],
            stuck_next_key=options["stuck_next_key"],
            repeat_pages=options["repeat_pages"],
        )
        try:
            server = SimulatorServer(
                options["host"],
                options["port"],
                page_size=options["page_size"],
                max_rps=options["max_rps"],
                fields=options["fields"],
                faults=faults,
                minute_history_days=options["minute_history_days"],
                appkey=options["appkey"],
                secretkey=options["secretkey"],
            )
        except OSError as error:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {error}"
            ) from None
        if now is not None:
            server.set_now(now, running=options["clock_running"])
        server.warm_up()
        self.stdout.write(
            f"Kiwoom simulator (simulated market data) on {server.url} — "
            f"now {server.market.now():%Y-%m-%d %H:%M:%S} KST, "
            f"{len(server.market.universe())} stocks, max {options['max_rps']:g} req/s per key"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Kiwoom simulator stopped.")
