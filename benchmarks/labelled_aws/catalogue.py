"""Which shapes an account holds and how many: planted shapes per 1,000 principals (at least one each), then
clean bulk up to the account's size in fixed proportions."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.labelled_aws import shapes_audit as audit
from benchmarks.labelled_aws import shapes_conditions as conditions
from benchmarks.labelled_aws import shapes_escalation as esc
from benchmarks.labelled_aws import shapes_integrations as integ
from benchmarks.labelled_aws import shapes_resources as resources
from benchmarks.labelled_aws import shapes_roles as roles
from benchmarks.labelled_aws import shapes_secrets as secrets
from benchmarks.labelled_aws import shapes_users as users
from benchmarks.labelled_aws.builder import AccountBuilder

Shape = Callable[[AccountBuilder], None]

# shape -> instances per 1,000 principals of an account
PLANTED: tuple[tuple[Shape, float], ...] = (
    # people
    (users.human_old_key, 4),
    # software users
    (users.nhi_console_and_key, 8), (users.nhi_console_only, 6), (users.nhi_console_dormant, 3),
    (users.ci_deployer_admin, 4),
    (users.two_active_keys, 6), (users.rotation_in_progress, 6), (users.old_key, 6), (users.unused_key, 6),
    (users.inactive_key_only, 5), (users.mfa_gated_user, 4), (users.user_create_access_key, 3),
    # roles: trust, admin, use, AI, environments
    (roles.vendor_without_external_id, 4), (roles.vendor_with_external_id, 4),
    (roles.vendor_in_organisation, 2), (roles.open_trust, 3),
    (roles.open_trust_org, 2), (roles.github_unpinned, 4), (roles.github_pinned, 4),
    (roles.admin_service_role, 5), (roles.power_user_role, 3), (roles.boundary_admin, 3), (roles.unused_role, 6),
    (roles.ai_undeclared, 6), (roles.ai_undeclared_broad, 2), (roles.converse_only, 4), (roles.env_to_prod, 4),
    # escalation
    (esc.mfa_gated_role, 6), (esc.passrole_limited, 4), (esc.passrole_associated, 2), (esc.passrole_lambda, 4),
    (esc.passrole_cloudformation, 4), (esc.update_function_code, 4), (esc.create_policy_version, 4),
    (esc.escalation_denied, 3), (esc.expired_grant, 4), (esc.in_force_grant, 2), (esc.principal_tag_match, 3),
    (esc.principal_tag_mismatch, 3), (esc.passrole_to_task_role, 3), (esc.chain_to_admin, 3),
    (esc.chain_behind_mfa, 3),
    # declared integrations and AI chains
    (integ.integration_role_clean, 8), (integ.integration_user_clean, 4), (integ.scope_forbidden, 4),
    (integ.scope_not_allowed, 4), (integ.env_other_listed, 3), (integ.env_other_unlisted, 3),
    (integ.env_multiple, 3), (integ.reused_identity, 3), (integ.stale_entry, 3), (integ.static_key_forbidden, 3),
    (integ.declared_user_console, 3), (integ.wildcard, 3), (integ.chain_to_forbidden, 2),
    (integ.ai_chain_undeclared, 3), (integ.ai_chain_declared, 2),
    # newer families: resource-based policies, audit gaps, leaked credentials, request-time conditions
    (resources.same_account_grant, 3), (resources.same_account_root_only, 3),
    (audit.models_logged, 3), (audit.models_unlogged, 3), (audit.models_any_region, 2), (audit.models_unread, 2),
    (audit.data_logged, 3), (audit.data_unlogged, 3), (audit.data_write_unlogged, 2),
    (secrets.inventory_key, 3), (secrets.inactive_key, 2), (secrets.unknown_key, 3),
    (secrets.secret_without_key_id, 2), (secrets.no_key, 3),
    (conditions.vpce_condition, 3), (conditions.no_condition, 3), (conditions.if_exists_condition, 2),
    (conditions.vpce_lower_case_key, 2), (conditions.not_equals_condition, 2),
    (conditions.source_ip_condition, 2), (conditions.region_condition, 2),
)
CROSS_ACCOUNT_PER_1000 = 5
# Shapes over an account and the next one (bucket policies, key ids): (shape, instances per 1,000 principals).
CROSS_PAIRS: tuple[tuple[Callable[[AccountBuilder, AccountBuilder], None], float], ...] = (
    (resources.cross_account_grant, 3), (resources.cross_account_session_grant, 2),
    (resources.cross_account_root_grant, 2), (resources.cross_account_no_grant, 3),
    (secrets.other_account_key, 2),
)

# Clean bulk: (shape, share of the rest of the account).
BULK: tuple[tuple[Shape, float], ...] = (
    (users.human_console, 0.27), (users.human_cli_key, 0.09), (users.human_admin, 0.03),
    (users.human_dormant, 0.035), (users.human_cli_only, 0.025),
    (users.service_user, 0.15),
    (roles.clean_service_role, 0.40),
)


def count(per_1000: float, size: int) -> int:
    return max(1, round(per_1000 * size / 1000))
