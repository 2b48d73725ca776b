"""`manage.py deliver_pending`: one attempt at every e-mail/webhook delivery that is due."""

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from alerts import services
from alerts.models import Delivery, DeliveryStatus


class Command(BaseCommand):
    help = (
        "Tries once to send every pending e-mail/webhook delivery whose next attempt is due "
        "(or was never queued, e.g. while the broker was down). Failures keep their backoff: a "
        "delivery is failed after its last allowed attempt. Running it twice is safe: sent and "
        "failed deliveries are left alone."
    )

    def handle(self, *args, **options):
        due = list(
            Delivery.objects.filter(status=DeliveryStatus.PENDING)
            .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=timezone.now()))
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
        )
        counts: dict[str, int] = {}
        for done, delivery_id in enumerate(due, start=1):
            outcome = services.delivery_attempt(delivery_id=delivery_id)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if done % 50 == 0 or done == len(due):
                self.stdout.write(f"{done}/{len(due)} deliveries tried")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none due"
        self.stdout.write(self.style.SUCCESS(f"Deliveries: {summary}."))
