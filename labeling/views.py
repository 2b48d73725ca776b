from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def label_list(request):
    return render(request, "not_built.html", {"page_title": "Labels", "nav": "labels"})
