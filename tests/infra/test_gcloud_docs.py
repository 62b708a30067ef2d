"""Every `gcloud` command the docs tell a person to run uses flags that command has, in their form.

A runbook step that fails as written is found in an incident, the worst time. Each command the
docs give with a flag must be in COMMANDS, which lists the flags of its gcloud reference page
(cloud.google.com/sdk/gcloud/reference/..., SYNOPSIS): a flag that takes a value maps to True, a
boolean flag to False. A boolean flag takes no value: gcloud declares such flags with argparse's
`store_true`, which refuses `--flag=false` ("ignored explicit argument"; e.g. `--auto-ack` in
googlecloudsdk's pubsub flags); the off form, where there is one, is `--no-FLAG`, listed as such.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.infra.terraform import ROOT

# Flags every gcloud command takes (gcloud reference, "GCLOUD WIDE FLAGS"): all take a value
# except --help, --log-http, --quiet and --user-output-enabled's boolean forms.
WIDE = {"--account": True, "--billing-project": True, "--configuration": True, "--flags-file": True,
        "--flatten": True, "--format": True, "--impersonate-service-account": True, "--project": True,
        "--verbosity": True, "--quiet": False, "--help": False, "--log-http": False}
# Flags of every list command (gcloud reference, LIST COMMAND FLAGS).
LISTING = {"--filter": True, "--limit": True, "--page-size": True, "--sort-by": True, "--uri": False}

COMMANDS: dict[str, dict[str, bool]] = {
    # gcloud reference: pubsub/subscriptions/pull: [--auto-ack] plus the list flags.
    "pubsub subscriptions pull": {"--auto-ack": False, **LISTING},
    # pubsub/subscriptions/ack: --ack-ids=[ACK_ID,...].
    "pubsub subscriptions ack": {"--ack-ids": True},
    # pubsub/topics/publish: [--attribute=[ATTRIBUTE,...]] [--message=MESSAGE] [--ordering-key=ORDERING_KEY].
    "pubsub topics publish": {"--attribute": True, "--message": True, "--ordering-key": True},
    # firestore/databases/update: [--async] [--database=DATABASE] [--delete-protection] [--enable-pitr] [--type=TYPE];
    # delete protection is switched off with --no-delete-protection.
    "firestore databases update": {"--async": False, "--database": True, "--delete-protection": False,
                                   "--no-delete-protection": False, "--enable-pitr": False,
                                   "--no-enable-pitr": False, "--type": True},
    # firestore/databases/delete: [--database=DATABASE] [--etag=ETAG] [--async].
    "firestore databases delete": {"--database": True, "--etag": True, "--async": False},
    # logging/read: [LOG_FILTER] [--freshness=FRESHNESS; default="1d"] [--order=ORDER; default="desc"]
    # [--limit=LIMIT] [--bucket ...] [--location ...] [--view ...] [--resource-names ...].
    "logging read": {"--freshness": True, "--order": True, "--limit": True, "--bucket": True, "--location": True,
                     "--view": True, "--resource-names": True, "--organization": True, "--folder": True,
                     "--billing-account": True},
    # scheduler/jobs/describe: JOB [--location=LOCATION].
    "scheduler jobs describe": {"--location": True},
    # builds/list: [--ongoing] [--region=REGION] plus the list flags.
    "builds list": {"--ongoing": False, "--region": True, **LISTING},
    # builds/triggers/create/github: --name, --repo-owner, --repo-name, --branch-pattern, --build-config,
    # --substitutions, --service-account (among others).
    "builds triggers create github": {"--name": True, "--repo-owner": True, "--repo-name": True,
                                      "--branch-pattern": True, "--tag-pattern": True, "--build-config": True,
                                      "--substitutions": True, "--service-account": True, "--region": True,
                                      "--description": True, "--included-files": True, "--ignored-files": True},
    # sql/instances/describe: INSTANCE [GCLOUD_WIDE_FLAGS] (--format among them).
    "sql instances describe": {},
    # sql/operations/list: --instance=INSTANCE, -i INSTANCE plus the list flags.
    "sql operations list": {"--instance": True, **LISTING},
    # services/enable: [SERVICE_NAME ...] [--async].
    "services enable": {"--async": False},
    # services/list: [--available | --enabled] plus the list flags.
    "services list": {"--available": False, "--enabled": False, **LISTING},
    # deploy/targets/rollback: TARGET_NAME --delivery-pipeline=DELIVERY_PIPELINE [--region=REGION]
    # [--release=RELEASE] [--rollout-id=ROLLOUT_ID] (among others).
    "deploy targets rollback": {"--delivery-pipeline": True, "--region": True, "--release": True,
                                "--rollout-id": True},
    # beta/services/identity/create: --service=SERVICE.
    "beta services identity create": {"--service": True},
    # iam/list-testable-permissions: FULL_RESOURCE_NAME plus the list flags.
    "iam list-testable-permissions": dict(LISTING),
    # run/deploy: [SERVICE] [--image=IMAGE] [--region=REGION] [--vpc-connector=VPC_CONNECTOR]
    # [--vpc-egress=VPC_EGRESS] [--update-env-vars=[KEY=VALUE,...]] (among many).
    "run deploy": {"--image": True, "--region": True, "--vpc-connector": True, "--vpc-egress": True,
                   "--update-env-vars": True},
    # run/services/update: [--[no-]cpu-boost] [--region=REGION] [--update-env-vars=[KEY=VALUE,...]] (among many).
    "run services update": {"--cpu-boost": False, "--no-cpu-boost": False, "--region": True,
                            "--update-env-vars": True},
    # run/services/update-traffic: [--to-latest] [--to-revisions=[REVISION=PERCENTAGE,...]] [--region=REGION]
    # [--clear-tags | --remove-tags=[TAG,...] --set-tags=[TAG=REVISION,...] | --update-tags=[TAG=REVISION,...]].
    "run services update-traffic": {"--to-latest": False, "--to-revisions": True, "--to-tags": True,
                                    "--region": True, "--async": False, "--update-tags": True,
                                    "--set-tags": True, "--remove-tags": True, "--clear-tags": False},
    # run/services/describe: SERVICE [--region=REGION].
    "run services describe": {"--region": True},
    # compute/networks/vpc-access/connectors/describe: (CONNECTOR : --region=REGION).
    "compute networks vpc-access connectors describe": {"--region": True},
    # compute/networks/vpc-access/connectors/update: --region, --min-instances, --max-instances, --machine-type.
    "compute networks vpc-access connectors update": {"--region": True, "--min-instances": True,
                                                      "--max-instances": True, "--machine-type": True,
                                                      "--async": False},
}

DOCS = sorted([ROOT / "README.md", ROOT / "infra" / "README.md", *(ROOT / "docs").glob("*.md")])
_GCLOUD = re.compile(r"(?<![\w/-])gcloud ((?:\\\n|[^`\n])+)")


def _commands(text: str) -> list[str]:
    """Each `gcloud ...` the text shows: to the end of its inline code span or line, with
    backslash-continued lines joined, and a pipe or command substitution ending it."""
    found = []
    for match in _GCLOUD.finditer(text):
        command = match.group(1).replace("\\\n", " ")
        found.append(re.split(r"\s\|\s|\)\"|\)\s", command)[0])
    return found


def _tokens(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:      # a quote opened in the command and closed on a later line: its flags come first
        return command.split()


def _path(tokens: list[str]) -> str:
    words = []
    for token in tokens:
        if not re.fullmatch(r"[a-z][a-z-]*", token):
            break
        words.append(token)
        if " ".join(words) in COMMANDS:
            return " ".join(words)
    return " ".join(words)


def problems(text: str) -> list[str]:
    found = []
    for command in _commands(text):
        tokens = _tokens(command)
        flags = [t for t in tokens if t.startswith("--")]
        if not flags:
            continue            # a command named in prose, or one without flags
        path = _path(tokens)
        known = COMMANDS.get(path)
        if known is None:
            found.append(f"gcloud {path}: not in COMMANDS (add its flags from its gcloud reference page)")
            continue
        known = {**WIDE, **known}
        for flag in flags:
            name, has_value = flag.split("=", 1)[0], "=" in flag
            if name not in known:
                found.append(f"gcloud {path}: no flag {name}")
            elif has_value and not known[name]:
                found.append(f"gcloud {path}: {name} is a boolean flag and takes no value ({flag})")
    return found


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_gcloud_command_in_the_docs_runs_as_written(path: Path) -> None:
    assert problems(path.read_text()) == []


def test_the_check_finds_a_value_on_a_boolean_flag_and_an_unknown_flag() -> None:
    text = ("Pull it: `gcloud pubsub subscriptions pull hold --limit=5 --auto-ack=false`, then\n"
            "```sh\ngcloud firestore databases update --database=runwarden \\\n  --delete-protection=false\n```\n"
            "and `gcloud logging read 'severity>=ERROR' --since=1h`; `gcloud frobnicate --x`.")
    found = problems(text)
    assert any("--auto-ack is a boolean flag" in p for p in found), found
    assert any("--delete-protection is a boolean flag" in p for p in found), found
    assert any("no flag --since" in p for p in found), found
    assert any("frobnicate: not in COMMANDS" in p for p in found), found
    assert problems("`gcloud pubsub subscriptions pull hold --limit=5`, `gcloud functions deploy`") == []
