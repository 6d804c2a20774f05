from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orders.services import OrderImportError, order_documents_parse, orders_import


class Command(BaseCommand):
    help = "Import order documents (JSON or CSV) and provision their contacts. All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=["json", "csv"], help="Default: from the suffix.")

    def handle(self, *args, path: Path, format: str | None = None, **options):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        file_format = format or path.suffix.lstrip(".").lower()
        try:
            content = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        try:
            result = orders_import(
                rows=order_documents_parse(content=content, file_format=file_format)
            )
        except OrderImportError as exc:
            raise CommandError("Nothing was imported:\n" + "\n".join(exc.errors)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(result.created)} order(s); {len(result.status_changed)} status "
                f"change(s); {len(result.unchanged)} already known."
            )
        )
        for number in result.status_changed:
            self.stdout.write(f"  {number}: status changed")
        for provision in result.provisioned:
            for email in provision.created_contacts:
                self.stdout.write(f"  {provision.organization}: added {email}")
