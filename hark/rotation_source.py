"""Which rotation the web page shows: PagerDuty's ``/oncalls`` with ``HARK_PD_API_TOKEN``,
else the local schedule (``HARK_SCHEDULE``, default the shipped example)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hark.redis_connection import ConfigError
from hark.settings import Settings
from oncall.pagerduty import PagerDutyRest
from oncall.rotation import LocalRotation, PagerDutyRotation, ScheduleError


def shipped_schedule_path() -> Path:
    return Path(str(resources.files("oncall") / "data" / "schedule.yaml"))


def build_rotation(settings: Settings):
    if settings.pd_api_token:
        schedule_ids = [s.strip() for s in (settings.pd_schedule_ids or "").split(",") if s.strip()]
        rest = PagerDutyRest(settings.pd_api_token.get_secret_value(), settings.pd_api_url)
        return PagerDutyRotation(rest, schedule_ids)
    path = Path(settings.schedule) if settings.schedule else shipped_schedule_path()
    try:
        return LocalRotation.from_yaml(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise ConfigError(f"HARK_SCHEDULE: cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"HARK_SCHEDULE: {path} is not UTF-8 text") from None
    except ScheduleError as error:
        raise ConfigError(f"HARK_SCHEDULE is invalid:\n{error}") from None
