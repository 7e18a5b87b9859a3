"""The `anchorcred` command. The verifier's commands need only the verifier; the issuer's are added when it is installed."""

from __future__ import annotations

import typer

from verifier.cli import verify_command
from verifier.reportcli import verify_report_command

app = typer.Typer(
    name="anchorcred",
    help="Issue, anchor and verify EU micro-credentials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("verify")(verify_command)
app.command("verify-report")(verify_report_command)

from wallet.cli import register as _register_wallet  # noqa: E402 - the learner's commands need only the verifier's

_register_wallet(app)

try:
    from issuer.cli import register as _register_issuer
except ImportError as _exc:  # only the verifier is installed (no web3 / eth-tester / pyyaml)
    _missing = getattr(_exc, "name", None) or str(_exc)

    def _not_installed(ctx: typer.Context) -> None:
        typer.echo(
            f"error: the issuer is not installed here (missing: {_missing}); "
            "install it with: pip install 'anchorcred[issuer]'",
            err=True,
        )
        raise typer.Exit(2)

    for _name in ("issue", "devnet", "demo", "export-europass"):
        app.command(
            _name,
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            help="(needs the issuer: pip install 'anchorcred[issuer]')",
        )(_not_installed)
else:
    _register_issuer(app)
    from ebsi.trust_cli import app as _trust_app  # trust marks on the EBSI-like ledger (needs the issuer's packages)

    app.add_typer(_trust_app, name="trust")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
