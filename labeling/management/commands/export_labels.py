"""`manage.py export_labels`: the label exports of the web pages, from the command line."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from labeling import export
from labeling.forms import MAX_CONTEXT_BARS, LabelFilterForm
from labeling.selectors.labels import labels_filtered

FORMATS = ("csv", "jsonl", "label-studio")


class Command(BaseCommand):
    help = (
        "Writes one user's live labels (or every user's with --all-users) as CSV, JSON Lines or "
        "Label Studio time-series tasks to stdout or --output. Filters are those of /labels/. "
        "Instants are ISO 8601 in KST; prices KRW; volume shares. Read-only: safe to repeat."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="username whose labels to export")
        who.add_argument("--all-users", action="store_true", help="every user's labels")
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("--output", help="file to write (default: stdout)")
        parser.add_argument("--with-bars", action="store_true", help="JSONL: add OHLCV bars")
        parser.add_argument(
            "--context", type=int, default=0, help=f"bars either side (0–{MAX_CONTEXT_BARS})"
        )
        for name in ("symbol", "timeframe", "pattern_type", "outcome", "source"):
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default="")
        parser.add_argument("--date-from", dest="date_from", help="KST date, e.g. 2024-01-01")
        parser.add_argument("--date-to", dest="date_to", help="KST date")

    def handle(self, *args, **options):
        if not 0 <= options["context"] <= MAX_CONTEXT_BARS:
            raise CommandError(f"--context must be between 0 and {MAX_CONTEXT_BARS}.")
        user_model = get_user_model()
        if options["all_users"]:
            # An exporting "user" that sees everyone's labels, as staff do on /labels/.
            viewer = user_model(is_staff=True)
        else:
            viewer = user_model.objects.filter(username=options["user"]).first()
            if viewer is None:
                raise CommandError(f"No user named {options['user']!r}.")
            viewer.is_staff = False  # only this user's own labels
        form = LabelFilterForm(
            {
                key: options[key] or ""
                for key in (
                    "symbol",
                    "timeframe",
                    "pattern_type",
                    "outcome",
                    "source",
                    "date_from",
                    "date_to",
                )
            }
        )
        if not form.is_valid():
            raise CommandError("; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items()))
        labels = labels_filtered(user=viewer, **form.cleaned_data)
        count = labels.count()
        if options["format"] == "csv":
            chunks = export.csv_chunks(labels)
        elif options["format"] == "jsonl":
            chunks = export.jsonl_chunks(
                labels, with_bars=options["with_bars"], context=options["context"]
            )
        else:
            tasks = export.label_studio_tasks(labels, context=options["context"])
            chunks = [json.dumps(tasks, ensure_ascii=False)]
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                for chunk in chunks:
                    out.write(chunk)
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
        # The data goes to stdout, so the summary goes to stderr.
        target = options["output"] or "stdout"
        self.stderr.write(f"Exported {count} label(s) as {options['format']} to {target}.")
