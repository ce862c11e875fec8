"""``python -m windpitch_deploy dashboard|layer|pin|settings|iam-check|policy-lint|wheel-hashes ...``: see
windpitch_deploy.dashboard, .layers, .built, .settings_doc, .iam_check, .policy_lint and .wheel_hashes."""

import sys

from . import built, dashboard, iam_check, layers, policy_lint, settings_doc, wheel_hashes

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
    if command == ["wheel-hashes"]:
        sys.exit(wheel_hashes.main(sys.argv[2:]))
    if command == ["policy-lint"]:
        sys.exit(policy_lint.main(sys.argv[2:]))
    sys.exit(dashboard.main())
