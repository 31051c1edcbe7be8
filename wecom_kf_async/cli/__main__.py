"""``python -m wecom_kf_async.cli``: the ``wecom-kf`` command."""

from . import main

raise SystemExit(main())
