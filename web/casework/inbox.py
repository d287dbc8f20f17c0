"""The inbox: my tasks and my roles' tasks across cases, with deadlines, flags, filters and counts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request

from engine.casework import queries
from web.auth import login_required, services

bp = Blueprint("inbox", __name__)
PAGE_SIZE = 50  # rows per page; counts and filters cover the whole inbox


@bp.get("/")
@login_required
def index() -> Any:
    """The signed-in person's inbox, soonest due first; filter by case, role, overdue or who has taken it."""
    items = queries.inbox(services(), g.user)
    case, role, overdue = request.args.get("case", ""), request.args.get("role", ""), request.args.get("overdue")
    taken = request.args.get("taken", "")
    holder = {"me": g.user, "free": None}.get(taken, "")
    shown = [i for i in items if (not case or i.reference == case) and (not role or i.task.role == role)
             and (not overdue or i.overdue) and (not taken or i.task.claimed_by == holder)]
    if request.args.get("sort") == "case":
        shown.sort(key=lambda i: (i.reference, i.task.due_at is None, i.task.due_at))
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    roles = {r.role: r.title for r in services().catalogue.roles}
    return render_template(
        "inbox.html", missed=queries.missed_deadlines(services(), g.user),
        items=shown[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], roles=roles, now=services().clock.now(),
        page=page, pages=pages, shown=len(shown), first=(page - 1) * PAGE_SIZE + 1,
        args={k: v for k, v in request.args.items() if k != "page"},
        counts={"all": len(items), "overdue": sum(i.overdue for i in items), "soon": sum(i.due_soon for i in items)},
        cases=sorted({i.reference for i in items}), my_roles=sorted({i.task.role or "" for i in items}),
        selected={"case": case, "role": role, "overdue": bool(overdue), "sort": request.args.get("sort", "due"),
                  "taken": taken},
    )
