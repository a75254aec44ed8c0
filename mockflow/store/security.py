"""FAB's login checks: who a login names, and the counters an attempt updates.

The rules of the users and roles API live in `store/users.py` and `store/roles.py`; fixture
loading lives in `fixtureset/loaders.py`.
"""

from __future__ import annotations

from datetime import datetime

from mockflow.store.changes import Changes
from mockflow.store.records import User
from mockflow.store.state import State
from mockflow.store.users import user_by_email


def user_for_login(state: State, login: str) -> User | None:
    """FAB's database login: the username (any case), else a registered email address."""
    if not login:
        return None
    return state.users.get(login.lower()) or user_by_email(state, login)


def record_login(changes: Changes, user: User, success: bool, now: datetime) -> None:
    """FAB's `update_user_auth_stat`: both counters become numbers on the first attempt."""
    if success:
        changes.set_once(user, login_count=(user.login_count or 0) + 1, last_login=now, fail_login_count=0)
    else:
        changes.set_once(user, login_count=user.login_count or 0, fail_login_count=(user.fail_login_count or 0) + 1)
