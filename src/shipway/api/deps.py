"""Request dependencies: the application state and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from shipway.adapters.kube.reviews import UserInfo
from shipway.api.state import AppState
from shipway.core.validation import DNS_LABEL_PATTERN


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.shipway
    return state


State = Annotated[AppState, Depends(app_state)]


async def current_user(
    state: State, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> UserInfo:
    return await state.access.authenticate(authorization)


Caller = Annotated[UserInfo, Depends(current_user)]


# A pipeline name in a path: a DNS label, refused with 422 otherwise (it becomes part of Kubernetes URLs).
PipelineName = Annotated[str, Path(pattern=DNS_LABEL_PATTERN, min_length=1, max_length=63,
                                   description="The pipeline's name (a DNS label)")]
