"""``python -m windpitch_deploy dashboard|layer|pin|settings|iam-check ...``: see windpitch_deploy.dashboard, .layers,
.built, .settings_doc and .iam_check."""

import sys

from . import built, dashboard, iam_check, layers, settings_doc

if __name__ == "__main__":
    command = sys.argv[1:2]
    if command == ["layer"]:
        sys.exit(layers.main(sys.argv[2:]))
    if command == ["pin"]:
        sys.exit(built.main(sys.argv[2:]))
    if command == ["settings"]:
        sys.exit(settings_doc.main(sys.argv[2:]))
    if command == ["iam-check"]:
        sys.exit(iam_check.main(sys.argv[2:]))
    sys.exit(dashboard.main())
