from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def radar(request):
    return render(request, "not_built.html", {"page_title": "Trading Radar", "nav": "radar"})


@require_GET
def scanner(request):
    return render(request, "not_built.html", {"page_title": "Scanner", "nav": "scanner"})
