"""Reading the console's form posts into the API's own request bodies (:mod:`shipway.api.schemas`), so a form
is validated by exactly the rules of the REST call it stands for, and refused with the same messages.

Forms are ``application/x-www-form-urlencoded`` (parsed here, bounded; the API's body limit applies first).
A value that came in a password field is handed to the schema as a ``SecretStr`` and never read again here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from shipway.core.errors import InvalidInput

MAX_FIELDS = 64
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Form:
    fields: dict[str, list[str]]

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def text(self, name: str) -> str | None:
        """A text field, stripped; None when absent or empty."""
        value = (self.get(name) or "").strip()
        return value or None

    def all(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def checked(self, name: str) -> bool:
        return self.get(name) in ("on", "true", "yes")


async def read_form(request: Request) -> Form:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidInput("the console accepts only form posts", field="body")
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise InvalidInput(f"the form has more than {MAX_FIELDS} fields", field="body") from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return Form(fields)


def _location(loc: tuple[int | str, ...]) -> str:
    """A field path as the API's error bodies name it (``secretRef.name``, ``phases[0].name``)."""
    out = ""
    for part in (str(p) for p in loc):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def invalid_input(error: ValidationError) -> InvalidInput:
    """The API's 422 answer to an invalid body (:func:`shipway.api.errors.install`): the first problem's
    message and field, and how many more; never the input."""
    problems = error.errors()
    if not problems:
        return InvalidInput("invalid request", field="body")
    first = problems[0]
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return InvalidInput(message + more, field=_location(tuple(first.get("loc", ()))))


def build(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_input(error) from None
