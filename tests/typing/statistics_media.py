"""Type-checked (never run) examples of kf.statistics, kf.media and kf.corp_qualification()."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from wecom_kf_async import (
    CorpMetrics,
    CorpQualification,
    CorpStatistic,
    KfClient,
    MediaType,
    ServicerMetrics,
    ServicerStatistic,
    UploadedMedia,
)
from wecom_kf_async.resources.media import MEDIA_MAX_BYTES
from wecom_kf_async.resources.statistics import STATISTIC_MAX_SPAN_DAYS
from wecom_kf_async.testing import WeComSimulator


async def statistics(kf: KfClient, open_kfid: str) -> list[float]:
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 20)
    rows: list[CorpStatistic] = await kf.statistics.corp(start, end, open_kfid)
    rows += await kf.statistics.corp(start, end, open_kfid=open_kfid)
    aware = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    servicer: list[ServicerStatistic] = await kf.statistics.servicer(open_kfid, aware, end)
    servicer += await kf.statistics.servicer(open_kfid, start, end, servicer_userid="zhangsan")
    out: list[float] = [float(STATISTIC_MAX_SPAN_DAYS)]
    for row in rows:
        day: dt.date = row.date
        stamp: int = row.stat_time
        corp: CorpMetrics | None = row.statistic
        if corp is not None and corp.ai_transfer_rate is not None:
            out.append(corp.ai_transfer_rate + stamp + day.toordinal())
    for item in servicer:
        metrics: ServicerMetrics | None = item.statistic
        if metrics is not None and metrics.first_reply_average_sec is not None:
            out.append(metrics.first_reply_average_sec)
    return out


async def qualification(kf: KfClient) -> bool:
    result: CorpQualification = await kf.corp_qualification()
    return bool(result.wechat_channels_binding)


async def media(kf: KfClient, path: Path) -> list[str]:
    uploads: list[UploadedMedia] = [
        await kf.media.upload("image", path),
        await kf.media.upload(MediaType.FILE, str(path), filename="report.pdf"),
        await kf.media.upload("image", b"\x89PNG....", filename="logo.png"),
        await kf.media.upload(MediaType.VIDEO, io.BytesIO(b"...."), filename="clip.mp4"),
    ]
    with path.open("rb") as handle:
        uploads.append(await kf.media.upload("voice", handle, filename="hello.amr"))
    created: list[dt.datetime] = [m.created_at for m in uploads]
    limit: int = MEDIA_MAX_BYTES[MediaType.IMAGE]
    return (
        [m.media_id for m in uploads] + [str(m.type) for m in uploads] + [str(limit), str(created)]
    )


def simulator() -> str:
    sim = WeComSimulator()
    sim.corp.wechat_channels_binding = True
    sim.strict_day_timestamps = False
    media_id: str = sim.add_media("image", filename="avatar.png", size=2048)
    return media_id
