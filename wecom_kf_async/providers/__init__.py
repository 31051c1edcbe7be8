"""Service providers: third-party and agency-built apps serving many corps from one process.

- :class:`Suite` (a third-party app: its id, secret and pushed tickets) and the
  corp tokens it gives (:class:`ThirdPartyCorp`); an agency-built app's corps use
  :class:`~wecom_kf_async.AgencyApp`.
- :class:`KfProvider`: a :class:`~wecom_kf_async.KfClient` per corp on one HTTP
  pool, each with its own token and budgets, closed when idle or cancelled.
- The instruction callback: :func:`instruction_app` and the typed instructions
  (``suite_ticket``, ``create_auth``, ``change_auth``, ``cancel_auth``,
  ``reset_permanent_code``); :meth:`KfProvider.instruction_app` acts on them.
- :class:`ProviderBots`: one KF callback URL for every corp, each corp's callbacks
  to its own :class:`~wecom_kf_async.KfBot`.
- Suite tickets kept where the fleet finds them (memory, file; Redis in
  :mod:`wecom_kf_async.fleet`).
"""

from .bots import ProviderBots
from .corps import (
    AppKind,
    CorpCredentials,
    CorpNotAuthorizedError,
    InMemoryCorpCredentials,
    KfProvider,
)
from .instruction_app import InstructionApp, instruction_app
from .instructions import (
    CancelAuth,
    ChangeAuth,
    CreateAuth,
    Instruction,
    InstructionError,
    ResetPermanentCode,
    SuiteTicketInstruction,
    UnknownInstruction,
    parse_instruction,
)
from .suite import AuthorizedCorp, Suite, SuiteClient, ThirdPartyCorp
from .tickets import (
    SUITE_TICKET_LIFETIME,
    FileSuiteTicketStore,
    InMemorySuiteTicketStore,
    SuiteTicket,
    SuiteTicketMissingError,
    SuiteTicketStore,
)

__all__ = [
    "SUITE_TICKET_LIFETIME",
    "AppKind",
    "AuthorizedCorp",
    "CancelAuth",
    "ChangeAuth",
    "CorpCredentials",
    "CorpNotAuthorizedError",
    "CreateAuth",
    "FileSuiteTicketStore",
    "InMemoryCorpCredentials",
    "InMemorySuiteTicketStore",
    "Instruction",
    "InstructionApp",
    "InstructionError",
    "KfProvider",
    "ProviderBots",
    "ResetPermanentCode",
    "Suite",
    "SuiteClient",
    "SuiteTicket",
    "SuiteTicketInstruction",
    "SuiteTicketMissingError",
    "SuiteTicketStore",
    "ThirdPartyCorp",
    "UnknownInstruction",
    "instruction_app",
    "parse_instruction",
]
