from haven.core.errors import AuthenticationFailed, DomainError


class LoginFailed(AuthenticationFailed):
    code = "login_failed"

    def __init__(self) -> None:
        # One message for unknown user and wrong password, so logins cannot be enumerated.
        super().__init__("Username or password is incorrect.", fields={"password": ["Incorrect."]})


class AccountLocked(AuthenticationFailed):
    code = "account_locked"
    status = 423


class OtpInvalid(AuthenticationFailed):
    code = "otp_invalid"

    def __init__(self) -> None:
        super().__init__(
            "otp_code: the authenticator code is incorrect or has expired",
            fields={"otp_code": ["Incorrect or expired code."]},
        )


class TokenScopeError(DomainError):
    code = "token_scope"
    status = 403
