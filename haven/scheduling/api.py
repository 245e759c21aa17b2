from ninja import Router

from haven.accounts.auth import user_auth

router = Router(auth=user_auth, tags=["scheduling"])
