from django.core.checks import Tags, Warning, register

from .jwt_auth import get_jwt_config

# RFC 7518 section 3.2: an HMAC key at least as long as the hash output (HS256 -> 32 bytes).
MINIMUM_HMAC_KEY_BYTES = 32


@register(Tags.security)
def check_jwt_hmac_key_length(app_configs, **kwargs):
    config = get_jwt_config()
    if config.is_hmac and len(config.verification_key.encode()) < MINIMUM_HMAC_KEY_BYTES:
        return [
            Warning(
                f"The JWT HMAC secret is shorter than {MINIMUM_HMAC_KEY_BYTES} bytes.",
                hint="Set JWT_AUTH_SECRET (or SECRET_KEY) to a long random value.",
                id="cams.W001",
            )
        ]
    return []
