"""The simulator's ``kf_account_auth_change`` callbacks (official page 97713).

WeCom posts one when KF accounts are authorised to the app or withdrawn from it,
with one ``AuthAddOpenKfId`` / ``AuthDelOpenKfId`` element per account.
"""

from __future__ import annotations

from collections.abc import Iterable

from .callbacks import CallbackPush, CallbacksMixin, _cdata

__all__ = ["AuthChangeMixin"]


class AuthChangeMixin(CallbacksMixin):
    """Pushes ``kf_account_auth_change`` to the callback target."""

    async def push_account_auth_change(
        self, added: Iterable[str] = (), removed: Iterable[str] = ()
    ) -> CallbackPush:
        """POST a ``kf_account_auth_change`` naming *added* and *removed*; return the record.

        The record's ``open_kfid`` is the first account named and its ``token`` is
        empty (the event carries none). Delivered like :meth:`push_callback`.

        Raises:
            RuntimeError: :meth:`set_callback` was not called.
            ValueError: Neither *added* nor *removed* names an account.
        """
        added, removed = list(added), list(removed)
        if not added and not removed:
            raise ValueError("name at least one account added or removed")
        target = self._require_callback_target()
        event = f"<Event>{_cdata('kf_account_auth_change')}</Event>" + "".join(
            [f"<AuthAddOpenKfId>{_cdata(k)}</AuthAddOpenKfId>" for k in added]
            + [f"<AuthDelOpenKfId>{_cdata(k)}</AuthDelOpenKfId>" for k in removed]
        )
        query, xml = self._sealed(target, event)
        return await self._deliver(target, (added or removed)[0], "", query, xml, attempt=1)
