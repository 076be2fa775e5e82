"""Admin sessions as stored: a hash of the cookie's secret, never the secret."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tidings.kit.orm import Base, BigIntId, UtcDateTime


class WebSession(Base):
    """A signed-in admin: which API key signed in, its CSRF token, and until when."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # SHA-256 of the cookie's random secret: a copy of this table signs nobody in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
