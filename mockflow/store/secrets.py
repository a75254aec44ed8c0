"""Which names Airflow's secrets masker treats as sensitive (their values are then shown as ***).

Both the audit rows and the connection answers mask by this rule; it lives in the store so that
neither has to import the other.
"""

from __future__ import annotations

import re

_SENSITIVE = re.compile(
    r"access_token|api_key|apikey|authorization|passphrase|passwd|password|private_key|secret|token|"
    r"keyfile_dict|service_account",
    re.IGNORECASE,
)


def is_sensitive(name: str) -> bool:
    return bool(_SENSITIVE.search(name))
