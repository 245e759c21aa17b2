from haven.core.errors import Conflict, ValidationFailed
from haven.protocols.loader import ProtocolInvalid


class ProtocolFileInvalid(ValidationFailed):
    code = "protocol_invalid"

    def __init__(self, invalid: ProtocolInvalid) -> None:
        fields: dict[str, list[str]] = {}
        for problem in invalid.problems:
            fields.setdefault(problem.path or "file", []).append(problem.message)
        super().__init__(
            f"The protocol file has {len(invalid.problems)} problem(s):\n{invalid}", fields=fields
        )


class ProtocolFrozen(Conflict):
    code = "protocol_frozen"
