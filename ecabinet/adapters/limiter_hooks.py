"""Flask-Limiter's request hooks, skipped when no limit applies to every request.

Flask-Limiter offers no switch for its before- and after-request work: it registers private bound
methods (``_check_request_limit``, a ``functools.partial`` for the headers, the name-mangled
``__release_context``) and keeps its per-request state under a private name. Only the login routes
are limited, by decorators that check on their own; the app-wide hook would look for app-wide,
default, meta and blueprint limits on every request, find none, and cost a sixth of a JSON answer.
"""

from __future__ import annotations

import functools

from flask import Flask
from flask.globals import request_ctx
from flask_limiter import Limiter

PINNED = "4.1.1"
CONTEXT_ATTRIBUTE = "_limiter_request_context"  # where Flask-Limiter keeps its per-request context


def has_app_wide_limits(limiter: Limiter) -> bool:
    manager = limiter.limit_manager
    return bool(manager.application_limits or manager.default_limits or limiter._meta_limits
                or manager._blueprint_limits)


def skip_idle_limit_check(app: Flask, limiter: Limiter) -> None:
    """Drop the limiter's check before every request when no limit applies to every request, and run
    its two hooks after the request only when a limit was checked in it (each built the limiter's
    context for the request to find nothing to add or release). Any app-wide limit keeps the hooks."""
    if has_app_wide_limits(limiter):
        return
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    hooks = app.after_request_funcs[None]
    inject = next(hook for hook in hooks if isinstance(hook, functools.partial) and hook.args == (limiter,))
    hooks[hooks.index(inject)] = functools.update_wrapper(
        lambda response: inject(response) if limiter_used() else response, inject.func)
    teardowns = app.teardown_request_funcs[None]
    release = limiter._Limiter__release_context  # type: ignore[attr-defined]  # name-mangled private
    teardowns[teardowns.index(release)] = functools.update_wrapper(
        lambda error=None: release(error) if limiter_used() else None, release)


def limiter_used() -> bool:
    """Whether Flask-Limiter made its context for this request, i.e. checked a limit in it."""
    return hasattr(request_ctx._get_current_object(), CONTEXT_ATTRIBUTE)  # type: ignore[attr-defined]  # a LocalProxy, typed as its object
