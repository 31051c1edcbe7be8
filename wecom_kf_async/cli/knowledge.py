"""``wecom-kf knowledge``: the KF bot's knowledge base (groups and intents)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import attrs

from .. import _knowledge_checks as _kc
from .._client import KfClient
from ..models.knowledge import (
    KnowledgeAttachment,
    KnowledgeGroup,
    KnowledgeImage,
    KnowledgeIntent,
    KnowledgeLink,
    KnowledgeMiniProgram,
    KnowledgeVideo,
    UnknownKnowledgeAttachment,
)
from ._common import Commands, UsageError, add_client_options, emit

__all__ = ["register"]

_GROUP_COLUMNS = ("group_id", "name", "is_default")
_INTENT_COLUMNS = ("intent_id", "group_id", "question", "answer")

#: ``--image ID``, ``--link TITLE URL``, ...: option, its values, the attachment they make.
_ATTACHMENT_OPTIONS: dict[str, tuple[tuple[str, ...], Callable[..., KnowledgeAttachment]]] = {
    "--image": (("MEDIA_ID",), lambda media_id: KnowledgeImage(media_id=media_id)),
    "--video": (("MEDIA_ID",), lambda media_id: KnowledgeVideo(media_id=media_id)),
    "--link": (("TITLE", "URL"), lambda title, url: KnowledgeLink(title=title, url=url)),
    "--miniprogram": (
        ("APPID", "PAGEPATH", "THUMB_MEDIA_ID"),
        lambda appid, page, thumb: KnowledgeMiniProgram(
            appid=appid, pagepath=page, thumb_media_id=thumb
        ),
    ),
}


_ARTICLES = {
    "--image": "an uploaded image",
    "--video": "an uploaded video",
    "--link": "a link card",
    "--miniprogram": "a mini program card (its cover an uploaded image)",
}


class _Attach(argparse.Action):
    """Appends the attachment an option makes to ``args.attachments``, in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        make = _ATTACHMENT_OPTIONS[self.option_strings[0]][1]
        found = getattr(namespace, self.dest, None) or []
        setattr(namespace, self.dest, [*found, make(*values)])


def register(commands: Commands) -> None:
    """Add ``knowledge`` and its actions to *commands*."""
    knowledge = commands.add_parser(
        "knowledge",
        help="the KF bot's knowledge base: groups and intents",
        description="Manage the knowledge base the KF bot answers from (self-built apps "
        "only): groups, and intents (a question, similar questions, an answer).",
    )
    actions = knowledge.add_subparsers(dest="action", required=True, metavar="ACTION")

    _action(actions, "groups", "print every group, the default one included", _groups)
    add_group = _action(actions, "add-group", "create a group and print its id", _add_group)
    add_group.add_argument("--name", required=True, help="1 to 12 characters (required)")
    update = _action(actions, "update-group", "rename a group (not the default)", _update_group)
    update.add_argument("group_id", metavar="GROUP_ID", help="the group")
    update.add_argument("--name", required=True, help="1 to 12 characters (required)")
    delete = _action(actions, "delete-group", "delete a group (not the default)", _delete_group)
    delete.add_argument("group_id", metavar="GROUP_ID", help="the group")

    intents = _action(actions, "intents", "print every intent (all pages)", _intents)
    intents.add_argument(
        "--group", default=None, metavar="GROUP_ID", help="only this group's (default: all)"
    )
    add_intent = _action(actions, "add-intent", "add an intent and print its id", _add_intent)
    add_intent.add_argument(
        "--group", required=True, metavar="GROUP_ID", help="the group (required)"
    )
    add_intent.add_argument("--question", required=True, help="1 to 200 characters (required)")
    _intent_options(add_intent, required=True)
    update_intent = _action(
        actions,
        "update-intent",
        "rewrite an intent's question, similar questions or answer",
        _update_intent,
    )
    update_intent.add_argument("intent_id", metavar="INTENT_ID", help="the intent")
    update_intent.add_argument("--question", default=None, help="(default: unchanged)")
    update_intent.add_argument(
        "--no-similar", action="store_true", help="remove every similar question"
    )
    _intent_options(update_intent, required=False)
    delete_intent = _action(actions, "delete-intent", "delete an intent", _delete_intent)
    delete_intent.add_argument("intent_id", metavar="INTENT_ID", help="the intent")


def _action(
    actions: Commands,
    name: str,
    summary: str,
    run: Callable[[argparse.Namespace, KfClient], Any],
) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=summary, description=summary[0].upper() + summary[1:])
    add_client_options(parser)
    parser.set_defaults(run=run, check=_check)
    return parser


def _intent_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--answer``, ``--similar`` and the attachment options of add-intent and update-intent."""
    unchanged = " (required)" if required else " (default: unchanged)"
    parser.add_argument(
        "--answer",
        required=required,
        default=None,
        help=f"the answer's text, 1 to 500 characters; with update-intent it replaces the "
        f"answer and its attachments{unchanged}",
    )
    parser.add_argument(
        "--similar",
        action="append",
        default=None,
        metavar="QUESTION",
        help="a similar question, up to 100; repeat for several (update-intent: replaces "
        "them all; default: none / unchanged)",
    )
    for option, (metavar, _) in _ATTACHMENT_OPTIONS.items():
        parser.add_argument(
            option,
            action=_Attach,
            dest="attachments",
            nargs=len(metavar),
            metavar=metavar,
            help=f"attach {_ARTICLES[option]} to the answer; repeat for several (at most 4 "
            "attachments, kept in the order given)",
        )


def _check(args: argparse.Namespace) -> None:
    """The library's own checks, run before the client is made (exit status 2)."""
    try:
        for key in ("group_id", "intent_id", "group"):
            if getattr(args, key, None) is not None:
                _kc.knowledge_id(getattr(args, key), f"--{key}" if key == "group" else key)
        if getattr(args, "name", None) is not None:
            _kc.group_name(args.name, "--name")
        if getattr(args, "question", None) is not None:
            _kc.question(args.question, "--question")
        if getattr(args, "similar", None) is not None:
            _kc.similar_questions_body(args.similar, "--similar")
        if getattr(args, "answer", None) is not None:
            _kc.answer_body(args.answer, args.attachments or (), "--answer")
        elif getattr(args, "attachments", None):
            raise UsageError("attachments need --answer: the answer is rewritten whole")
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "no_similar", False) and args.similar is not None:
        raise UsageError("--similar and --no-similar exclude each other")


def _group_row(group: KnowledgeGroup) -> dict[str, Any]:
    return {"group_id": group.group_id, "name": group.name, "is_default": group.is_default}


def _attachment_row(attachment: KnowledgeAttachment) -> dict[str, Any]:
    if isinstance(attachment, UnknownKnowledgeAttachment):
        return {"msgtype": attachment.kind, "raw": attachment.raw}
    fields = {k: v for k, v in attrs.asdict(attachment).items() if v is not None}
    return {"msgtype": attachment.msgtype, **fields}


def _intent_row(intent: KnowledgeIntent) -> dict[str, Any]:
    answer = intent.answer
    return {
        "intent_id": intent.intent_id,
        "group_id": intent.group_id,
        "question": intent.question,
        "similar_questions": list(intent.similar_questions),
        "answer": answer.text if answer is not None else None,
        "attachments": [_attachment_row(a) for a in answer.attachments] if answer else [],
    }


async def _groups(args: argparse.Namespace, kf: KfClient) -> int:
    emit([_group_row(group) async for group in kf.knowledge.groups()], args.format, _GROUP_COLUMNS)
    return 0


async def _add_group(args: argparse.Namespace, kf: KfClient) -> int:
    group_id = await kf.knowledge.add_group(args.name)
    emit([{"group_id": group_id, "name": args.name}], args.format)
    return 0


async def _update_group(args: argparse.Namespace, kf: KfClient) -> int:
    await kf.knowledge.update_group(args.group_id, args.name)
    emit([{"group_id": args.group_id, "name": args.name, "updated": True}], args.format)
    return 0


async def _delete_group(args: argparse.Namespace, kf: KfClient) -> int:
    await kf.knowledge.delete_group(args.group_id)
    emit([{"group_id": args.group_id, "deleted": True}], args.format)
    return 0


async def _intents(args: argparse.Namespace, kf: KfClient) -> int:
    rows = [_intent_row(intent) async for intent in kf.knowledge.intents(args.group)]
    emit(rows, args.format, _INTENT_COLUMNS)
    return 0


async def _add_intent(args: argparse.Namespace, kf: KfClient) -> int:
    intent_id = await kf.knowledge.add_intent(
        args.group,
        args.question,
        args.answer,
        similar_questions=args.similar or (),
        attachments=args.attachments or (),
    )
    emit([{"intent_id": intent_id, "group_id": args.group, "question": args.question}], args.format)
    return 0


async def _update_intent(args: argparse.Namespace, kf: KfClient) -> int:
    await kf.knowledge.update_intent(
        args.intent_id,
        question=args.question,
        similar_questions=[] if args.no_similar else args.similar,
        answer=args.answer,
        attachments=args.attachments if args.answer is not None else None,
    )
    emit([{"intent_id": args.intent_id, "updated": True}], args.format)
    return 0


async def _delete_intent(args: argparse.Namespace, kf: KfClient) -> int:
    await kf.knowledge.delete_intent(args.intent_id)
    emit([{"intent_id": args.intent_id, "deleted": True}], args.format)
    return 0
