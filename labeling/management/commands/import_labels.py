"""`manage.py import_labels`: reads our JSON Lines export or Label Studio's JSON export back."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from labeling.imports import ImportProblem, parse_labels
from labeling.services import LabelImportError, labels_import


class Command(BaseCommand):
    help = (
        "Imports labels for one user (--user) from FILE: our JSON Lines export (export.jsonl, "
        "export_labels --format jsonl) or a Label Studio JSON export of our tasks. Ranges and "
        "key points snap to the stored bars as on /labels/new/. All or nothing: a bad record "
        "stops the import with its line (JSONL) or task and result (Label Studio) and nothing is "
        "written. A label equal to one the user has (series, type, bar range) is skipped, so "
        "running twice adds nothing. --dry-run checks everything and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the export to read")
        parser.add_argument("--user", required=True, help="username who will own the labels")
        parser.add_argument("--format", choices=("auto", "jsonl", "label-studio"), default="auto")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, **options):
        owner = get_user_model().objects.filter(username=options["user"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['user']!r}.")
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        try:
            records = parse_labels(text, format=options["format"])
        except ImportProblem as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.") from None
        self.stdout.write(f"Read {len(records)} label(s) from {path}.")

        def progress(done, total):
            self.stdout.write(f"  {done}/{total} ({done * 100 // total} %)")

        try:
            counts = labels_import(
                owner=owner, records=records, dry_run=options["dry_run"], progress=progress
            )
        except LabelImportError as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.") from None
        verb = "Would add" if options["dry_run"] else "Added"
        self.stdout.write(
            f"{verb} {counts['added']} label(s) for {owner.username}; "
            f"{counts['skipped']} already present (skipped)."
            + (" Dry run: nothing written." if options["dry_run"] else "")
        )
