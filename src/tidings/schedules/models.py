"""Where the scheduler remembers how far it has looked."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tidings.kit.orm import Base, UtcDateTime


class ScheduleTick(Base):
    """The end of the last window a named periodic job covered."""

    __tablename__ = "schedule_ticks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    covered_until: Mapped[datetime] = mapped_column(UtcDateTime)
