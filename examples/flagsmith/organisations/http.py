"""Small JSON helpers shared by the views."""

import functools
import json
from typing import Any, Callable, Dict

from django.http import HttpRequest, JsonResponse


def body(request: HttpRequest) -> Dict[str, Any]:
    """The request's JSON object (form fields for a form post)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return request.POST.dict()


def problem(status: int, detail: str) -> JsonResponse:
    """An error answer."""
    return JsonResponse({"detail": detail}, status=status)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """401 for anonymous callers."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return problem(401, "authentication required")
        return view(request, *args, **kwargs)

    return wrapped
