from ninja import Schema


class ErrorOut(Schema):
    """The one error envelope."""

    code: str
    message: str
    fields: dict[str, list[str]]


# Declared on every operation for the statuses it can return.
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    500: ErrorOut,
}
