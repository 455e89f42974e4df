"""The change freeze as data: what the folded state holds (the rules are in
:mod:`warroom.core.gate`)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict

#: What a deploy target is called: a service, a cluster, an environment (``checkout-api``,
#: ``prod/eu-west-1``). Lower case, so ``Checkout-API`` and ``checkout-api`` are one target.
TARGET_PATTERN = r"^[a-z0-9][a-z0-9._/-]{0,79}$"
_TARGET = re.compile(TARGET_PATTERN)
#: Stands for every target in a freeze's list.
ALL_TARGETS = "*"


def valid_target(name: str) -> bool:
    return bool(_TARGET.match(name))


class ChangeFreeze(BaseModel):
    """The IC's change freeze: changes to these targets need the live lease's fencing token."""

    model_config = ConfigDict(frozen=True)

    #: The frozen targets; ``("*",)`` for every target.
    targets: tuple[str, ...]
    reason: str = ""
    by: str = ""
    at: datetime | None = None

    def covers(self, target: str) -> bool:
        return ALL_TARGETS in self.targets or target in self.targets

    @property
    def label(self) -> str:
        return "every target" if ALL_TARGETS in self.targets else ", ".join(self.targets)
