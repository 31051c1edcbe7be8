"""Type-checked (never run) examples of the message models, their structuring and the builders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wecom_kf_async import KfClient
from wecom_kf_async.messages.builders import (
    EVENT_MSGTYPES,
    CaLink,
    Click,
    File,
    Image,
    Link,
    Location,
    Menu,
    MenuMiniProgram,
    MenuText,
    MiniProgram,
    Sendable,
    Text,
    Video,
    View,
    Voice,
)
from wecom_kf_async.models import (
    EVENT_CODE_RULES,
    EVENT_TYPES,
    MESSAGE_TYPES,
    BusinessCardMessage,
    ChannelsMessage,
    ChannelsShopOrderMessage,
    ChannelsShopProductMessage,
    ChannelsSubType,
    EnterSessionEvent,
    Event,
    EventCode,
    EventCodeRule,
    EventCodeScene,
    FailType,
    FileMessage,
    ImageMessage,
    KfMessage,
    LinkMessage,
    LocationMessage,
    MeetingMessage,
    MergedMsgItem,
    MergedMsgMessage,
    Message,
    MiniProgramMessage,
    MsgMenuItem,
    MsgMenuMessage,
    MsgSendFailEvent,
    NoteMessage,
    Origin,
    ReceptionStatus,
    RejectCustomerMsgSwitchChangeEvent,
    RejectSwitch,
    ScheduleMessage,
    ServicerRecallMsgEvent,
    ServicerStatusChangeEvent,
    ServiceState,
    SessionChangeType,
    SessionStatusChangeEvent,
    StopType,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    UserRecallMsgEvent,
    VideoMessage,
    VoiceMessage,
    WechatChannels,
    converter,
    structure_message,
    structure_messages,
)
from wecom_kf_async.testing.samples import (
    EVENT_SAMPLES,
    MESSAGE_SAMPLES,
    event_sample,
    message_sample,
)


def common_fields(msg: KfMessage) -> tuple[str, str, datetime, Origin | int]:
    opened: str | None = msg.open_kfid
    customer: str | None = msg.external_userid
    servicer: str | None = msg.servicer_userid
    del opened, customer, servicer
    return msg.msgid, msg.msgtype, msg.send_time, msg.origin


def structure(page: dict[str, Any]) -> list[KfMessage]:
    one: KfMessage = structure_message(page["msg_list"][0])
    many: list[KfMessage] = structure_messages(page["msg_list"])
    via_converter: KfMessage = converter.structure(page["msg_list"][0], KfMessage)
    strict: TextMessage = converter.structure(page["msg_list"][0], TextMessage)
    del strict
    return [one, *many, via_converter]


def message_bodies(msg: Message) -> str | None:
    match msg:
        case TextMessage(text=text):
            menu_id: str | None = text.menu_id
            del menu_id
            return text.content
        case ImageMessage(image=image) | VoiceMessage(voice=image) | VideoMessage(video=image):
            return image.media_id
        case FileMessage(file=file):
            return file.media_id
        case LocationMessage(location=location):
            latitude: float = location.latitude
            del latitude
            return location.name
        case LinkMessage(link=link):
            return link.url
        case BusinessCardMessage(business_card=card):
            return card.userid
        case MiniProgramMessage(miniprogram=mini):
            return mini.pagepath
        case MsgMenuMessage(msgmenu=menu):
            items: tuple[MsgMenuItem, ...] = menu.list
            return items[0].click.id if items and items[0].click else menu.head_content
        case ChannelsShopProductMessage(channels_shop_product=product):
            return product.sales_price
        case ChannelsShopOrderMessage(channels_shop_order=order):
            return order.order_id
        case MergedMsgMessage(merged_msg=merged):
            item: MergedMsgItem = merged.item[0]
            kind: str | int | None = item.msgtype
            del kind
            return item.msg_content
        case ChannelsMessage(channels=channels):
            sub_type: ChannelsSubType | int | None = channels.sub_type
            del sub_type
            return channels.title
        case NoteMessage():
            return None
        case UnknownMessage(raw=raw, malformed=malformed):
            del malformed
            return str(raw)
    return None


def events(event: Event) -> str | None:
    event_type: str = event.event_type
    del event_type
    match event:
        case EnterSessionEvent(welcome_code=str(code), wechat_channels=channels):
            where: WechatChannels | None = channels
            del where
            return code
        case MsgSendFailEvent(fail_msgid=failed, fail_type=FailType.OVER_LIMIT):
            return failed
        case ServicerStatusChangeEvent(status=status, stop_type=stop_type):
            s: ReceptionStatus | int | None = status
            t: StopType | int | None = stop_type
            del s, t
            return event.servicer_userid
        case SessionStatusChangeEvent(change_type=change, msg_code=code):
            c: SessionChangeType | int | None = change
            del c
            return code
        case (
            UserRecallMsgEvent(recall_msgid=recalled)
            | ServicerRecallMsgEvent(recall_msgid=recalled)
        ):
            return recalled
        case RejectCustomerMsgSwitchChangeEvent(reject_switch=switch):
            r: RejectSwitch | int | None = switch
            del r
            return None
        case UnknownEvent(raw=raw):
            item: dict[str, Any] = raw
            return str(item.get("msgid"))
    return None


def registries() -> None:
    kinds: Mapping[str, type[Message]] = MESSAGE_TYPES
    event_kinds: Mapping[str, type[Event]] = EVENT_TYPES
    samples: Mapping[str, dict[str, Any]] = MESSAGE_SAMPLES
    event_samples: Mapping[str, dict[str, Any]] = EVENT_SAMPLES
    a: dict[str, Any] = message_sample("text", msgid="m1")
    b: dict[str, Any] = event_sample("enter_session", welcome_code="w")
    del kinds, event_kinds, samples, event_samples, a, b


def builders(media_id: str) -> list[Sendable]:
    menu = Menu(
        head="Pick one",
        items=[
            Click("1", "Price"),
            View("https://example.com", "Site"),
            MenuMiniProgram("wx1", "pages/index", "Shop"),
            MenuText("or type", no_newline=True),
        ],
        tail="Thanks",
    )
    sendable: list[Sendable] = [
        Text("Hello"),
        Image(media_id),
        Voice(media_id),
        Video(media_id),
        File(media_id),
        Link("Title", "https://example.com", media_id, desc="Description"),
        MiniProgram("wx1", "Title", media_id, "pages/index"),
        Location(23.1, 113.3, name="Canton Tower", address="Guangzhou"),
        menu,
    ]
    for message in sendable:
        kind: str = message.msgtype
        body: dict[str, Any] = message.body()
        on_event: bool = kind in EVENT_MSGTYPES
        del body, on_event
    return sendable


async def event_codes_and_new_types(kf: KfClient, open_kfid: str, msg: KfMessage) -> list[str]:
    """EventCode is a str with a scene; send_on_event takes codes and events; new types."""
    sent: list[str] = []
    code: EventCode | None = await kf.sessions.transfer(open_kfid, "wm1", ServiceState.QUEUED)
    if code is not None:
        scene: EventCodeScene | None = code.scene
        rule: EventCodeRule | None = code.rule
        lifetime: float = EVENT_CODE_RULES[EventCodeScene.QUEUED].lifetime
        print(scene, rule, lifetime)
        sent.append(await kf.messages.send_on_event(code, Text("queued")))
    if isinstance(msg, EnterSessionEvent):
        welcome: EventCode | None = msg.event_code
        sent.append(await kf.messages.send_on_event(msg, Text("hi")))
        print(welcome)
    if isinstance(msg, MeetingMessage):
        meeting: dict[str, Any] = msg.meeting
        print(meeting)
    if isinstance(msg, ScheduleMessage):
        schedule: dict[str, Any] = msg.schedule
        print(schedule)
    sent.append(await kf.messages.send("wm1", open_kfid, CaLink("https://work.weixin.qq.com/ca/x")))
    return sent
