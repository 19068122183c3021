"""IAM users: people (clean, with the one credential finding a person can have) and software users (clean,
human use of a machine identity, credential age / use / rotation, escalation grants).

Every shape is otherwise clean: fresh, recently used keys unless the shape is about keys, nothing else wrong.
"""

from __future__ import annotations

from typing import Any

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws.builder import HUMAN_SERVICES, MAX_AGE_DAYS, MAX_UNUSED_DAYS, AccountBuilder
from benchmarks.labelled_aws.model import NHI, Console, Expected, Key

PEOPLE_GROUPS = ("developers", "developers", "readonly", "data-analysts")

# --- people ----------------------------------------------------------------------------------------------


def human_console(b: AccountBuilder) -> None:
    mfa = b.rng.random() < 0.85
    b.human("human-console", console=b.console(mfa=mfa), groups=(b.rng.choice(PEOPLE_GROUPS),),
            traits=("console", "mfa" if mfa else "no-mfa"))


def human_cli_key(b: AccountBuilder) -> None:
    """A person with a console password, MFA and a CLI key: not a machine identity (issue 11, point 1)."""
    b.human("human-cli-key", console=b.console(mfa=b.rng.random() < 0.9), groups=(b.rng.choice(PEOPLE_GROUPS),),
            keys=(b.fresh_key(HUMAN_SERVICES),), traits=("console", "cli-key"))


def human_admin(b: AccountBuilder) -> None:
    """An administrator through the admins group: people are out of admin-access's scope."""
    keys = (b.fresh_key(HUMAN_SERVICES),) if b.rng.random() < 0.4 else ()
    b.human("human-admin", console=b.console(mfa=True), groups=("admins",), keys=keys,
            traits=("console", "mfa", "admins-group", *(("cli-key",) if keys else ())))


def human_dormant(b: AccountBuilder) -> None:
    """A person who has not signed in for months: identity-unused is about non-human identities."""
    b.human("human-dormant", console=Console(b.rng.randint(60, 400), True),
            groups=(b.rng.choice(PEOPLE_GROUPS),), traits=("console", "dormant"))


def human_cli_only(b: AccountBuilder) -> None:
    """A person (tagged kind=human) who only uses the CLI; some are administrators."""
    admin = b.rng.random() < 0.3
    b.human("human-cli-only", tags=b.human_tags(tagged=True), keys=(b.fresh_key(HUMAN_SERVICES),),
            groups=("admins",) if admin else (b.rng.choice(PEOPLE_GROUPS),),
            traits=("cli-key", "no-console", *(("admins-group",) if admin else ())))


def human_old_key(b: AccountBuilder) -> None:
    age = b.rng.randint(150, 700)
    b.human("human-old-key", console=b.console(mfa=True), groups=(b.rng.choice(PEOPLE_GROUPS),),
            keys=(Key(True, age, b.rng.randint(0, 5), b.rng.choice(HUMAN_SERVICES), b.region),),
            traits=("console", "cli-key", "old-key"),
            expected=(Expected("cred-too-old", f"active access key is {age} days old; the policy allows "
                                               f"{MAX_AGE_DAYS} (any static credential, whoever holds it)"),))


# --- software users --------------------------------------------------------------------------------------


def _software_user(b: AccountBuilder, plant: str, *, tagged: bool | None = None, plain: bool = False,
                   extra: tuple[tuple[str, dict[str, Any]], ...] = (), **kw: Any) -> None:
    name = b.names.workload("user", plain=plain)
    kw.setdefault("tags", b.workload_tags(tagged=tagged))
    kw.setdefault("path", "/service/" if b.rng.random() < 0.5 else "/")
    b.user(name, plant, NHI, inline=(b.app_policy(name.split("-")[0]), *extra), **kw)


def service_user(b: AccountBuilder) -> None:
    _software_user(b, "service-user", plain=b.rng.random() < 0.3, keys=(b.fresh_key(),), traits=("access-key",))


def nhi_console_and_key(b: AccountBuilder) -> None:
    used = b.rng.random() < 0.5
    _software_user(b, "nhi-console-key", keys=(b.fresh_key(),), console=b.console(mfa=False, used=used),
                   traits=("access-key", "console", "console-used" if used else "console-never-used"),
                   expected=(Expected("human-use-of-nhi", "software user (service name, access key used by a "
                                                          "service) also has a console password"),))


def nhi_console_only(b: AccountBuilder) -> None:
    """Tagged kind=workload with a console password and no key (missed before issue 11)."""
    _software_user(b, "nhi-console-only", tagged=True, console=b.console(mfa=False),
                   traits=("console", "tag-workload"),
                   expected=(Expected("human-use-of-nhi", "tagged kind=workload, signs in to the console"),))


def nhi_console_dormant(b: AccountBuilder) -> None:
    """Tagged kind=workload, console password only, last used months ago: human use, and unused."""
    last = b.rng.randint(150, 400)
    _software_user(b, "nhi-console-dormant", tagged=True, console=Console(last, False),
                   traits=("console", "tag-workload", "dormant"),
                   expected=(Expected("human-use-of-nhi", "tagged kind=workload, has a console password"),
                             Expected("identity-unused", f"no active credential, last sign-in {last} days ago")))


def ci_deployer_admin(b: AccountBuilder) -> None:
    """Untagged CI deployer: active key, console password, AdministratorAccess. A classic breach shape."""
    used = b.rng.random() < 0.5
    b.user(b.names.fixed("user", "ci-deployer"), "ci-deployer-admin", NHI, managed=(d.ADMIN,),
           tags=b.workload_tags(tagged=False, env=False),
           keys=(b.fresh_key(("cloudformation", "s3", "ecr")),), console=b.console(mfa=False, used=used),
           traits=("access-key", "console", "admin", "untagged"),
           expected=(Expected("admin-access", "CI deployer (not a person) with AdministratorAccess"),
                     Expected("human-use-of-nhi", "CI deployer with an active key also has a console password")))


def two_active_keys(b: AccountBuilder) -> None:
    old, new = b.rng.randint(50, 80), b.rng.randint(20, 45)
    _software_user(b, "two-active-keys", keys=(Key(True, old, b.rng.randint(0, 4), "s3", b.region),
                                                Key(True, new, b.rng.randint(0, 4), "sqs", b.region)),
                   traits=("access-key", "two-active-keys"),
                   expected=(Expected("cred-multiple-active-keys", f"two active access keys ({old} and {new} "
                                                                   "days old), both past the grace period"),))


def rotation_in_progress(b: AccountBuilder) -> None:
    """The second key is two days old: a rotation in progress, not a finding."""
    _software_user(b, "rotation-in-progress", keys=(Key(True, b.rng.randint(50, 80), b.rng.randint(0, 3), "s3",
                                                        b.region),
                                                    Key(True, 2, b.rng.choice((0, 1, None)), "s3", b.region)),
                   traits=("access-key", "two-active-keys", "rotation"))


def old_key(b: AccountBuilder) -> None:
    age = b.rng.randint(150, 900)
    _software_user(b, "old-key", keys=(Key(True, age, b.rng.randint(0, 5), "s3", b.region),),
                   traits=("access-key", "old-key"),
                   expected=(Expected("cred-too-old", f"active access key {age} days old; the policy allows "
                                                      f"{MAX_AGE_DAYS}"),))


def unused_key(b: AccountBuilder) -> None:
    age = b.rng.randint(45, 85)
    last = None if b.rng.random() < 0.4 else b.rng.randint(MAX_UNUSED_DAYS + 10, age - 1)
    what = "never used" if last is None else f"last used {last} days ago"
    _software_user(b, "unused-key", keys=(Key(True, age, last, "s3", b.region),),
                   traits=("access-key", "unused-key"),
                   expected=(Expected("cred-unused", f"active access key {age} days old, {what}; the policy "
                                                     f"allows {MAX_UNUSED_DAYS} days unused"),))


def inactive_key_only(b: AccountBuilder) -> None:
    """Its only key was deactivated long ago: an identity nobody uses."""
    age = b.rng.randint(300, 700)
    last = b.rng.randint(120, age - 30)
    _software_user(b, "inactive-key-only", keys=(Key(False, age, last, "s3", b.region),),
                   traits=("inactive-key", "unused"),
                   expected=(Expected("identity-unused", f"no active credential, last activity {last} days "
                                                         "ago"),))


def mfa_gated_user(b: AccountBuilder) -> None:
    """Access-key user whose IAM grants require MFA: long-term keys of software never carry MFA."""
    condition = d.MFA_PRESENT if b.rng.random() < 0.7 else d.MFA_RECENT
    _software_user(b, "mfa-gated-user", keys=(b.fresh_key(),),
                   extra=(("iam-admin-with-mfa", d.document(d.allow(
                       ["iam:CreateAccessKey", "iam:AttachUserPolicy", "iam:PutUserPolicy"],
                       f"arn:aws:iam::{b.account.id}:user/*", condition))),),
                   traits=("access-key", "mfa-condition"))


def user_create_access_key(b: AccountBuilder) -> None:
    _software_user(b, "user-create-access-key", keys=(b.fresh_key(),),
                   extra=(("key-rotation", d.document(d.allow(
                       ["iam:CreateAccessKey", "iam:ListAccessKeys"], f"arn:aws:iam::{b.account.id}:user/*"))),),
                   traits=("access-key", "escalation"),
                   expected=(Expected("privesc-single-step", "iam:CreateAccessKey on every user of the account "
                                                             "(takes over other users)"),))

