"""The provider example end to end: real uvicorn, real HTTP instructions and callbacks."""

from __future__ import annotations

from .conftest import run_example

#: Seconds the demo process may take before the test gives up (never slept through).
PATIENCE = 60.0


async def test_simulate_installs_two_corps_answers_both_and_refuses_a_cancelled_one() -> None:
    """``python -m examples.provider_app --simulate``: ticket, installs, answers, cancel, exit 0."""
    status, output, err = await run_example(
        "examples.provider_app", "--simulate", patience=PATIENCE
    )
    assert status == 0, f"{output}\n{err}"
    lines = set(output.splitlines())
    for line in (
        "suite_ticket pushed",
        "create_auth of wwcorp000001 answered: success",
        "create_auth of wwcorp000002 answered: success",
        "Acme (wwcorp000001) installed the app",
        "Globex (wwcorp000002) installed the app",
        "callback of wwcorp000001 answered: 200 success",
        "callback of wwcorp000002 answered: 200 success",
        "wwcorp000001: bot sent to wmAcmeCustomer: You said: Hello from Acme",
        "wwcorp000002: bot sent to wmGlobexCustomer: You said: Hello from Globex",
        "cancel_auth of wwcorp000001 answered: success",
        "callback of wwcorp000001 after it left answered: 503",
    ):
        assert line in lines, output
    assert len([line for line in lines if ": bot sent to " in line]) == 2, output
    assert "Traceback" not in err
