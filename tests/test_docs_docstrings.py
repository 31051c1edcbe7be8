"""The code examples in docstrings (the API reference shows them) run as written.

Each example is the literal block after a ``::`` in a public docstring. It runs
under the docs' snippet runner (``tests/snippets.py``) after a setup that gives
it the names it takes as given; the setup is here, the example text is the
docstring's own, so an example that stops working fails.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .test_docs_reference import MODULES as PUBLIC_MODULES

ROOT = Path(__file__).resolve().parents[1]
#: The public modules, less the simulator package (its examples are the guides').
MODULES = [name for name in PUBLIC_MODULES if name != "wecom_kf_async.testing.simulator"]

_CALLBACK = (
    "<xml><ToUserName><![CDATA[ww0123456789abcdef]]></ToUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[tok]]></Token>"
    "<OpenKfId><![CDATA[wkSupport]]></OpenKfId></xml>"
)

#: What each example takes as given, and what is checked after it, by where it is
#: defined (module and qualified name).
SETUPS: dict[str, tuple[str, str]] = {
    "wecom_kf_async._client.KfClient": (
        'from wecom_kf_async import KfClient\nids = ["wmAlice", "wmBob"]\n',
        "assert len(result.customers) == 2\n",
    ),
    "wecom_kf_async.callback.crypto.CallbackCrypto": (
        "from wecom_kf_async.callback import CallbackCrypto, parse_callback, read_envelope\n"
        'TOKEN, CORP_ID = "kfBotToken123", "ww0123456789abcdef"\n'
        'ENCODING_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"\n'
        "wecom = CallbackCrypto(TOKEN, ENCODING_AES_KEY, CORP_ID)\n"
        f'sealed = read_envelope(wecom.encrypt("{_CALLBACK}", timestamp="1", nonce="n"))\n'
        'q = {"msg_signature": sealed.msg_signature, "timestamp": "1", "nonce": "n",'
        ' "echostr": sealed.encrypt}\n'
        'body = f"<xml><Encrypt><![CDATA[{sealed.encrypt}]]></Encrypt></xml>"\n',
        'assert callback.open_kfid == "wkSupport"\nassert answer.startswith("<xml>")\n',
    ),
    "wecom_kf_async.resources.sessions.SessionsAPI.transfer": (
        "from wecom_kf_async import KfClient, ServiceState, Text\n"
        'open_kfid, external_userid = sim.add_account("Support"), "wmAlice"\n'
        'sim.customer_says(open_kfid, external_userid, Text("hello"))\n'
        'kf = KfClient(corp_id="ww0123456789abcdef", secret="...")\n'
        "await kf.__aenter__()\n"
        'sim.add_servicer(open_kfid, "zhangsan")\n'
        "await kf.sessions.transfer(\n"
        '    open_kfid, external_userid, ServiceState.SERVICER, servicer_userid="zhangsan"\n'
        ")\n",
        "after = await kf.sessions.get_state(open_kfid, external_userid)\n"
        "assert after.state is ServiceState.ENDED\nawait kf.aclose()\n",
    ),
    "wecom_kf_async.messages.builders": (
        'from wecom_kf_async import Text\nb = Text("hello")\n',
        "",
    ),
}


def examples() -> dict[str, str]:
    """Each public docstring's literal block (after ``::``), by the owner's path."""
    found: dict[str, str] = {}

    def take(path: str, doc: str | None) -> None:
        if not doc or "::\n" not in doc:
            return
        after = inspect.cleandoc(doc).split("::\n", 1)[1]
        lines: list[str] = []
        for line in after.splitlines()[1:]:
            if line and not line.startswith("    "):
                break
            lines.append(line)
        found[path] = textwrap.dedent("\n".join(lines)).strip() + "\n"

    seen: set[int] = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen or not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue
            seen.add(id(obj))
            owner = f"{obj.__module__}.{obj.__qualname__}"
            take(owner, obj.__doc__)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and not attr.startswith("_"):
                        take(f"{owner}.{attr}", member.__doc__)
    for module_name in ("wecom_kf_async.messages.builders",):
        take(module_name, importlib.import_module(module_name).__doc__)
    return found


def test_every_docstring_example_has_a_setup() -> None:
    assert set(examples()) == set(SETUPS)


@pytest.mark.parametrize("owner", sorted(SETUPS))
def test_the_docstring_example_runs(owner: str, tmp_path: Path) -> None:
    setup, check = SETUPS[owner]
    page = tmp_path / "example.md"
    blocks = [setup, examples()[owner], check]
    page.write_text(
        "".join(f"```python\n{block}```\n\n" for block in blocks if block), encoding="utf-8"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, our own runner
        [sys.executable, str(ROOT / "tests" / "snippets.py"), str(page), str(ROOT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
