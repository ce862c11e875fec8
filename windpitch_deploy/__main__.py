"""``python -m windpitch_deploy dashboard|layer|pin|settings|iam-check|policy-lint ...``: see
windpitch_deploy.dashboard, .layers, .built, .settings_doc, .iam_check and .policy_lint."""

import sys

from . import built, dashboard, iam_check, layers, policy_lint, settings_doc

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
    if command == ["policy-lint"]:
        sys.exit(policy_lint.main(sys.argv[2:]))
    sys.exit(dashboard.main())
