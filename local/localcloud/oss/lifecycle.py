"""A bucket's lifecycle rules, as far as the local OSS honours them: an enabled rule with a
`Prefix` and `Expiration.Days` expires the objects under that prefix once they are that many
days old (from their last change, on the local clock). OSS runs its rules once a day, some time
after an object's age is reached; locally an expired object is gone for the first request that
looks for it. Transitions, `CreatedBeforeDate`, tag filters and `AbortMultipartUpload` are not
evaluated (the template reader refuses what it cannot honour)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Rule:
    rule_id: str
    prefix: str
    days: int
    enabled: bool = True

    def expires(self, key: str, modified: float, now: float) -> bool:
        return (
            self.enabled
            and key.startswith(self.prefix)
            and now >= modified + self.days * DAY_SECONDS
        )

    def to_json(self) -> dict[str, Any]:
        return {"id": self.rule_id, "prefix": self.prefix, "days": self.days, "on": self.enabled}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Rule:
        return cls(str(value["id"]), str(value["prefix"]), int(value["days"]), bool(value["on"]))
