from django.conf import settings


def data_source(request) -> dict:
    """Tells every page whether it shows simulated market data (the badge in base.html)."""
    return {"simulated_market_data": settings.KIWOOM_IS_SIMULATOR}
