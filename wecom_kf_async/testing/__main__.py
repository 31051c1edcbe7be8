"""``python -m wecom_kf_async.testing``: serve the simulator on a loopback port."""

from ._server import main

raise SystemExit(main())
