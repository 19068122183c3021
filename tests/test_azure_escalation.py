"""Azure escalation through resources that run code as a managed identity (App Service and Functions,
Container Apps, AKS, VMs), and policy exceptions that name an Entra app by its appId.

A planted tenant is built from inventory records exactly as the Azure transforms map raw data
(nhiaudit/connectors/azure/raw.py, transform_workloads.py) and scanned through the real CLI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scan_support import findings, scan_planted

from nhiaudit.inventory.model import (
    Identity,
    IdentityKind,
    Policy,
    Provider,
    SourceInfo,
    Statement,
    Workload,
)
from nhiaudit.inventory.snapshot import Snapshot

AS_OF = "2026-06-01"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TENANT = "11111111-1111-1111-1111-111111111111"
PROD = "aaaaaaaa-0000-0000-0000-000000000001"
SUB = f"/subscriptions/{PROD}"

# Built-in role definitions (actions), as ARM returns them, trimmed to what matters here.
ROLES: dict[str, tuple[str, ...]] = {
    "Owner": ("*",),
    "Reader": ("*/read",),
    "Website Contributor": ("Microsoft.Authorization/*/read", "Microsoft.Insights/components/*",
                            "Microsoft.Resources/deployments/*", "Microsoft.Web/certificates/*",
                            "Microsoft.Web/serverFarms/join/action", "Microsoft.Web/serverFarms/read",
                            "Microsoft.Web/sites/*"),
    "Website Settings Writer": ("Microsoft.Web/sites/config/write",),
    "Container Apps Contributor": ("Microsoft.App/containerApps/*", "Microsoft.App/managedEnvironments/read"),
    "Azure Kubernetes Service Cluster Admin Role": (
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
        "Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action",
        "Microsoft.ContainerService/managedClusters/read",
        "Microsoft.ContainerService/managedClusters/runcommand/action"),
    "Virtual Machine Contributor": ("Microsoft.Compute/virtualMachines/*",),
    "Identity Assigner": ("Microsoft.ManagedIdentity/userAssignedIdentities/read",
                          "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"),
}


def oid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def app_id(n: int) -> str:
    return f"ffffffff-0000-0000-0000-{n:012d}"


def rg(name: str) -> str:
    return f"{SUB}/resourceGroups/{name}"


WEB_APP = f"{rg('web')}/providers/Microsoft.Web/sites/shop"
FUNC_APP = f"{rg('fn')}/providers/Microsoft.Web/sites/jobs"
CONTAINER_APP = f"{rg('ca')}/providers/Microsoft.App/containerApps/scorer"
AKS = f"{rg('k8s')}/providers/Microsoft.ContainerService/managedClusters/prod-aks"
VM = f"{rg('vm')}/providers/Microsoft.Compute/virtualMachines/jump"
UAMI = f"{rg('ids')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/deploy-id"

# Who is who: callers (low privilege, one role on one resource group) and the identities workloads run as.
WEB_DEPLOYER, SETTINGS_WRITER, CA_DEPLOYER, AKS_ADMIN, VM_OPERATOR, OTHER_RG = (oid(n) for n in range(1, 7))
WEB_MI, FUNC_MI, CA_MI, AKS_MI, VM_MI = (oid(n) for n in range(11, 16))
ASSIGNER = oid(7)  # may assign the identities of resource group `ids` and write VMs in `vm`
UA_MI = oid(16)  # a user-assigned identity (Owner) in `ids`, attached to nothing
MANAGED = (WEB_MI, FUNC_MI, CA_MI, AKS_MI, VM_MI, UA_MI)


def build_tenant() -> Snapshot:
    policies: dict[str, Policy] = {}
    held: dict[str, list[str]] = {}

    def assign(who: str, role: str, scope: str) -> None:
        pid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{who[-4:]}-{len(policies)}"
        policies[pid] = Policy(id=pid, provider=Provider.AZURE, name=role, kind="role",
                               statements=(Statement(actions=ROLES[role], resources=(scope,)),))
        held.setdefault(who, []).append(pid)

    assign(WEB_DEPLOYER, "Website Contributor", rg("web"))
    assign(SETTINGS_WRITER, "Website Settings Writer", rg("fn"))
    assign(CA_DEPLOYER, "Container Apps Contributor", rg("ca"))
    assign(AKS_ADMIN, "Azure Kubernetes Service Cluster Admin Role", rg("k8s"))
    assign(VM_OPERATOR, "Virtual Machine Contributor", rg("vm"))
    assign(OTHER_RG, "Website Contributor", rg("empty"))  # no web app there: no target, no finding
    assign(ASSIGNER, "Identity Assigner", rg("ids"))
    assign(ASSIGNER, "Virtual Machine Contributor", rg("vm"))
    assign(WEB_MI, "Owner", SUB)  # the web app runs as a subscription Owner
    assign(UA_MI, "Owner", SUB)
    for mi in (FUNC_MI, CA_MI, AKS_MI, VM_MI):
        assign(mi, "Reader", SUB)

    names = {WEB_DEPLOYER: "web-deployer", SETTINGS_WRITER: "settings-writer", CA_DEPLOYER: "ca-deployer",
             AKS_ADMIN: "aks-admin", VM_OPERATOR: "vm-operator", OTHER_RG: "other-rg",
             WEB_MI: "shop-identity", FUNC_MI: "jobs-identity", CA_MI: "scorer-identity", AKS_MI: "aks-identity",
             VM_MI: "jump-identity", ASSIGNER: "identity-assigner", UA_MI: "deploy-id"}
    resources = {UA_MI: UAMI, VM_MI: VM}  # alternativeNames: user-assigned, and a VM's system-assigned
    identities = []
    for iid, name in sorted(names.items()):
        managed = iid in MANAGED
        pids = tuple(sorted(held.get(iid, ())))
        identities.append(Identity(
            id=iid, provider=Provider.AZURE, account=TENANT, name=name, last_activity=NOW,
            kind=IdentityKind.MANAGED_IDENTITY if managed else IdentityKind.SERVICE_PRINCIPAL,
            policy_ids=pids, policy_sources={p: "role assignment" for p in pids},
            attributes={"appId": app_id(int(iid[-4:])), "publisher": "tenant", "appOwnerOrganizationId": TENANT,
                        "servicePrincipalType": "ManagedIdentity" if managed else "Application",
                        **({"resourceId": resources[iid]} if iid in resources else {})}))
    workloads = [
        Workload(id=rid, provider=Provider.AZURE, account=PROD, kind=kind, name=rid.rsplit("/", 1)[-1],
                 identity_id=mi, region="westeurope")
        for rid, kind, mi in ((WEB_APP, "app_service", WEB_MI), (FUNC_APP, "function_app", FUNC_MI),
                              (CONTAINER_APP, "container_app", CA_MI), (AKS, "aks", AKS_MI),
                              (VM, "azure_vm", VM_MI))]
    return Snapshot(
        generated_at=NOW,
        sources=[SourceInfo(provider=Provider.AZURE, account=TENANT, method="synthetic", collected_at=NOW),
                 SourceInfo(provider=Provider.AZURE, account=PROD, method="synthetic", collected_at=NOW)],
        identities=identities, policies=sorted(policies.values(), key=lambda p: p.id), workloads=workloads)


POLICY = f"""
version: 1
integrations:
  - name: deployers
    identities: ["{oid(1)}", "{oid(2)}", "{oid(3)}", "{oid(4)}", "{oid(5)}", "{oid(6)}", "{oid(7)}"]
exceptions:
  - rule: privesc-single-step
    identity: "{app_id(2).upper()}"
    owner: platform-team
    reason: settings writer is reviewed quarterly
    expires: 2026-12-31
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scan_planted(tmp_path_factory.mktemp("azure-esc"), build_tenant(), POLICY, AS_OF)


def techniques(report: dict[str, Any], who: str) -> dict[str, dict[str, Any]]:
    return {f["evidence"]["technique"]: f for f in findings(report, "privesc-single-step", who)}


def test_website_contributor_takes_over_the_web_apps_more_privileged_identity(report):
    found = techniques(report, WEB_DEPLOYER)
    assert set(found) == {"azure-app-service-write", "azure-app-service-config-write",
                          "azure-app-service-publishing-credentials"}
    for f in found.values():
        assert f["evidence"]["targets"] == [WEB_MI]
        assert f["evidence"]["to_admin"] and f["severity"] == "critical"  # the site runs as an Owner


def test_app_settings_write_reaches_a_function_app(report):
    found = techniques(report, SETTINGS_WRITER)
    assert set(found) == {"azure-app-service-config-write"}
    assert found["azure-app-service-config-write"]["evidence"]["targets"] == [FUNC_MI]


def test_container_apps_aks_and_vms(report):
    assert {t: f["evidence"]["targets"] for t, f in techniques(report, CA_DEPLOYER).items()} == {
        "azure-container-app-write": [CA_MI]}
    # Azure action names are case-insensitive: the role's `runcommand` grants `runCommand`.
    assert {t: f["evidence"]["targets"] for t, f in techniques(report, AKS_ADMIN).items()} == {
        "azure-aks-run-command": [AKS_MI], "azure-aks-admin-credentials": [AKS_MI]}
    assert {t: f["evidence"]["targets"] for t, f in techniques(report, VM_OPERATOR).items()} == {
        "azure-run-command": [VM_MI]}
    # Readers as targets: an escalation, not to administrator.
    assert techniques(report, CA_DEPLOYER)["azure-container-app-write"]["severity"] == "high"


def test_a_role_on_a_resource_group_without_workloads_yields_no_target(report):
    assert techniques(report, OTHER_RG) == {}


def test_exception_names_the_app_by_appid_case_insensitively(report):
    (f,) = findings(report, "privesc-single-step", SETTINGS_WRITER)
    assert f["status"] == "excepted" and "platform-team" in f["status_reason"]
    assert not findings(report, "policy-exception-unmatched")
    assert all(f["status"] != "excepted" for f in findings(report, "privesc-single-step", WEB_DEPLOYER))


def test_assigning_a_user_assigned_identity_to_a_vm_it_writes(report):
    found = techniques(report, ASSIGNER)
    # The VM's own identity is a target of run-command (VM Contributor), not of the assignment: a
    # system-assigned identity cannot be attached elsewhere.
    assert {t: f["evidence"]["targets"] for t, f in found.items()} == {
        "azure-assign-identity-vm": [UA_MI], "azure-run-command": [VM_MI]}
    assert found["azure-assign-identity-vm"]["severity"] == "critical"


def test_a_managed_identitys_resource_comes_from_its_alternative_names():
    from nhiaudit.connectors.azure.transform_common import AzureDataError
    from nhiaudit.connectors.azure.transform_principals import managed_resource_id

    assert managed_resource_id({"alternativeNames": ["isExplicit=True", UAMI + "/"]}) == UAMI
    assert managed_resource_id({"alternativeNames": [], "id": oid(1)}) is None
    with pytest.raises(AzureDataError) as err:
        managed_resource_id({"alternativeNames": "/subscriptions/x"})
    assert err.value.path == ("alternativeNames",)
