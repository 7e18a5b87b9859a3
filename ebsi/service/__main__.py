"""``python -m ebsi.service serve [--host H] [--port P]``: run the EBSI-like ledger's facade under uvicorn.

Settings come from ``EBSI_*`` variables (``ebsi/service/settings.py``); a bad one is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ebsi.service", description="The EBSI-like ledger's facade.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the facade")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    from ebsi.service.settings import EbsiSettings

    try:
        settings = EbsiSettings()
    except ValidationError as exc:
        problems = "; ".join(f"EBSI_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"ebsi: bad settings: {problems}", file=sys.stderr)
        return 2
    import uvicorn

    from ebsi.errors import EbsiError
    from ebsi.service.app import create_app

    try:
        app = create_app(settings)
    except (ValueError, EbsiError) as exc:
        print(f"ebsi: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
