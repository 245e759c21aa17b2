from haven.core.errors import DomainError, ValidationFailed


class ReasonRequired(ValidationFailed):
    code = "reason_required"

    def __init__(self) -> None:
        super().__init__(
            "reason: a reason is required to change or delete a saved record",
            fields={"reason": ["A reason is required to change or delete a saved record."]},
        )


class SignatureRefused(DomainError):
    code = "signature_refused"
    status = 403


class ChainBroken(Exception):
    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"entry #{seq}: {problem}")
        self.seq = seq
        self.problem = problem
