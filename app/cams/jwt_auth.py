"""Bearer-token (JWT) authentication for the dashboard APIs, verified with PyJWT.

The accepted algorithms always come from settings, never from the token header, and one
configuration never mixes HMAC with asymmetric algorithms (the classic key-confusion attack).
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

REALM = "cams"
REQUIRED_CLAIMS = ["exp", "sub"]


@dataclass(frozen=True)
class JWTConfig:
    algorithms: tuple[str, ...]
    verification_key: str
    audience: str | None
    issuer: str | None
    leeway: int
    # A rotated HMAC secret, which still verifies until it expires.
    previous_key: str | None = None
    previous_key_expires: datetime | None = None

    def verification_keys(self) -> list[str]:
        keys = [self.verification_key]
        if self.previous_key and timezone.now() < self.previous_key_expires:
            keys.append(self.previous_key)
        return keys

    @property
    def is_hmac(self) -> bool:
        return _is_hmac(self.algorithms[0])


def _is_hmac(algorithm: str) -> bool:
    return isinstance(jwt.get_algorithm_by_name(algorithm), jwt.algorithms.HMACAlgorithm)


def get_jwt_config() -> JWTConfig:
    """Read and validate the JWT_AUTH_* settings; raises ImproperlyConfigured on unsafe ones."""
    algorithms = tuple(settings.JWT_AUTH_ALGORITHMS)
    if not algorithms:
        raise ImproperlyConfigured("JWT_AUTH_ALGORITHMS must name at least one algorithm.")
    if any(algorithm.lower() == "none" for algorithm in algorithms):
        raise ImproperlyConfigured("JWT_AUTH_ALGORITHMS must not allow 'none' (unsigned tokens).")
    try:
        hmac_flags = {_is_hmac(algorithm) for algorithm in algorithms}
    except NotImplementedError as error:
        raise ImproperlyConfigured(f"JWT_AUTH_ALGORITHMS {list(algorithms)}: {error}") from error
    if len(hmac_flags) > 1:
        raise ImproperlyConfigured(
            f"JWT_AUTH_ALGORITHMS {list(algorithms)} mixes HMAC and asymmetric algorithms; "
            "allow either a shared secret (HS*) or an identity provider's public key (RS*/ES*/PS*/EdDSA)."
        )

    if hmac_flags == {True}:
        key = settings.JWT_AUTH_SECRET or settings.SECRET_KEY
    else:
        key = settings.JWT_AUTH_PUBLIC_KEY
        if not key:
            raise ImproperlyConfigured(
                f"JWT_AUTH_ALGORITHMS {list(algorithms)} are asymmetric: set JWT_AUTH_PUBLIC_KEY to the PEM public key."
            )
    previous_key, previous_key_expires = _previous_secret(hmac_flags == {True})
    return JWTConfig(
        algorithms=algorithms,
        verification_key=key,
        audience=settings.JWT_AUTH_AUDIENCE or None,
        issuer=settings.JWT_AUTH_ISSUER or None,
        leeway=settings.JWT_AUTH_LEEWAY,
        previous_key=previous_key,
        previous_key_expires=previous_key_expires,
    )


def _previous_secret(is_hmac: bool) -> tuple[str | None, datetime | None]:
    """JWT_AUTH_PREVIOUS_SECRET and when it stops verifying; a previous secret must say when."""
    if not settings.JWT_AUTH_PREVIOUS_SECRET:
        return None, None
    if not is_hmac:
        raise ImproperlyConfigured(
            "JWT_AUTH_PREVIOUS_SECRET is for HMAC algorithms; an identity provider rotates its own keys."
        )
    expires = parse_datetime(settings.JWT_AUTH_PREVIOUS_SECRET_EXPIRES or "")
    if expires is None or timezone.is_naive(expires):
        raise ImproperlyConfigured(
            "JWT_AUTH_PREVIOUS_SECRET needs JWT_AUTH_PREVIOUS_SECRET_EXPIRES: the time it stops verifying tokens, "
            f"ISO 8601 with a UTC offset (got {settings.JWT_AUTH_PREVIOUS_SECRET_EXPIRES!r})."
        )
    return settings.JWT_AUTH_PREVIOUS_SECRET, expires


def mint_token(subject: str, lifetime: timedelta, audience: str | None = None, issuer: str | None = None) -> str:
    """Sign a token with the shared HMAC secret (asymmetric configs are signed by their identity provider)."""
    config = get_jwt_config()
    if not config.is_hmac:
        raise ImproperlyConfigured(
            f"Tokens can only be minted for HMAC configurations; {list(config.algorithms)} tokens "
            "are issued by the identity provider that holds the private key."
        )
    now = timezone.now()
    claims = {"sub": subject, "iat": now, "nbf": now, "exp": now + lifetime}
    audience = audience or config.audience
    issuer = issuer or config.issuer
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, config.verification_key, algorithm=config.algorithms[0])


class AuthenticationFailed(Exception):
    """A request without a usable bearer token; rendered as a 401 with WWW-Authenticate."""

    def __init__(self, error: str, detail: str):
        super().__init__(detail)
        self.error = error
        self.detail = detail

    def as_response(self) -> JsonResponse:
        response = JsonResponse({"error": self.error, "detail": self.detail}, status=401)
        # RFC 6750 section 3: no error code when the request carried no credentials at all.
        challenge = f'Bearer realm="{REALM}"'
        if self.error != "missing_token":
            description = self.detail.replace('"', "'")  # must stay a valid quoted-string
            challenge += f', error="{self.error}", error_description="{description}"'
        response["WWW-Authenticate"] = challenge
        return response


def bearer_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise AuthenticationFailed("missing_token", "Send 'Authorization: Bearer <token>'.")
    token = token.strip()
    if not token or " " in token:
        raise AuthenticationFailed("invalid_request", "The Authorization header must be 'Bearer <token>'.")
    return token


def verify_token(token: str) -> dict:
    """The token's claims, or AuthenticationFailed saying why it was refused."""
    config = get_jwt_config()
    # The current secret first; a token it does not verify may be signed with the previous one, within its window.
    *first, last = config.verification_keys()
    try:
        for key in first:
            with contextlib.suppress(jwt.InvalidSignatureError):
                return _decode(token, key, config)
        return _decode(token, last, config)
    except jwt.InvalidTokenError as error:
        # PyJWT's messages say precisely what failed ("Signature has expired", "Invalid audience", ...).
        raise AuthenticationFailed("invalid_token", str(error) or "Token is invalid.") from error


def _decode(token: str, key: str, config: JWTConfig) -> dict:
    return jwt.decode(
        token,
        key,
        algorithms=list(config.algorithms),
        audience=config.audience,
        issuer=config.issuer,
        leeway=config.leeway,
        options={"require": REQUIRED_CLAIMS},
    )


def jwt_required(view):
    """Reject the request with 401 unless it carries a valid bearer token; claims land in request.jwt_claims."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            request.jwt_claims = verify_token(bearer_token(request))
        except AuthenticationFailed as failure:
            return failure.as_response()
        return view(request, *args, **kwargs)

    return wrapper
