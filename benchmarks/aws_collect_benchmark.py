"""Benchmark live AWS collection against moto: API requests and wall time for one large account.

    .venv/bin/python benchmarks/aws_collect_benchmark.py [--users 2000 --roles 1000 --policies 500 --workloads 20]
                                                         [--resources 50]

Seeds the estate into an in-process moto server through boto3 (not timed), then runs the real collector
(`collect_aws`, real boto3, the read-only guard, adaptive retries) and prints the number of HTTP requests
per operation and per service, and the wall time. `--workloads N` adds N Bedrock agents, knowledge bases,
SageMaker notebook instances and endpoints (the endpoints share two configs and models): their reads grow
with the resources listed (one describe each, bounded per region), never with the roles or policies.
`--resources N` adds N buckets, KMS keys, secrets, queues and topics, each with a resource-based policy naming
another account (one listing per service, then the reads per resource). moto ignores paging for
GetAccountAuthorizationDetails, so the request count below has one GAAD call where real AWS needs
ceil(entities / 1000).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def _seed(url: str, users: int, roles: int, policies: int, keys_every: int) -> None:
    import boto3

    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::data-*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    with ThreadPoolExecutor(8) as pool:
        arns = list(pool.map(lambda i: iam.create_policy(PolicyName=f"policy-{i}", PolicyDocument=doc)
                             ["Policy"]["Arn"], range(policies)))

        def user(i: int) -> None:
            iam.create_user(UserName=f"user-{i}")
            iam.put_user_policy(UserName=f"user-{i}", PolicyName="inline", PolicyDocument=doc)
            if i % keys_every == 0:
                iam.create_access_key(UserName=f"user-{i}")

        def role(i: int) -> None:
            iam.create_role(RoleName=f"role-{i}", AssumeRolePolicyDocument=trust)
            iam.attach_role_policy(RoleName=f"role-{i}", PolicyArn=arns[i % len(arns)])
            iam.attach_role_policy(RoleName=f"role-{i}", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

        list(pool.map(user, range(users)))
        list(pool.map(role, range(roles)))
    # One keyed user in ten has used its key (moto's report then lacks the service: one lookup each).
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends["123456789012"]["global"]
    now = datetime.now(UTC)
    for i in range(0, users, keys_every * 10):
        key = backend.users[f"user-{i}"].access_keys[0]
        key.last_used = AccessKeyLastUsed(timestamp=now - timedelta(days=1), service="s3", region="us-east-1")


def _seed_workloads(url: str, count: int) -> None:
    """`count` of each AI workload kind, run by the first roles; endpoints share two configs and models."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    role = "arn:aws:iam::123456789012:role/role-{}"
    agents, sagemaker = client("bedrock-agent"), client("sagemaker")
    for i in range(min(count, 2)):
        sagemaker.create_model(ModelName=f"model-{i}", ExecutionRoleArn=role.format(i),
                               PrimaryContainer={"Image": "img"})
        sagemaker.create_endpoint_config(EndpointConfigName=f"config-{i}", ProductionVariants=[
            {"VariantName": "main", "ModelName": f"model-{i}", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}])
    for i in range(count):
        agents.create_agent(agentName=f"agent-{i}", agentResourceRoleArn=role.format(i))
        agents.create_knowledge_base(name=f"kb-{i}", roleArn=role.format(i),
                                     knowledgeBaseConfiguration={"type": "VECTOR"},
                                     storageConfiguration={"type": "OPENSEARCH_SERVERLESS"})
        sagemaker.create_notebook_instance(NotebookInstanceName=f"nb-{i}", InstanceType="ml.t2.medium",
                                           RoleArn=role.format(i))
        sagemaker.create_endpoint(EndpointName=f"endpoint-{i}", EndpointConfigName=f"config-{i % 2}")


def _seed_resources(url: str, count: int) -> None:
    import boto3

    def client(service: str):  # type: ignore[no-untyped-def]
        return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    s3, kms, sm, sqs, sns = (client(s) for s in ("s3", "kms", "secretsmanager", "sqs", "sns"))
    partner = {"AWS": "arn:aws:iam::444455556666:role/partner-agent"}

    def doc(action: str, resource: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": partner, "Action": action, "Resource": resource}]})

    def one(i: int) -> None:
        s3.create_bucket(Bucket=f"data-{i:05d}")
        s3.put_bucket_policy(Bucket=f"data-{i:05d}", Policy=doc("s3:GetObject", f"arn:aws:s3:::data-{i:05d}/*"))
        kms.create_key(Policy=doc("kms:Decrypt", "*"))
        arn = sm.create_secret(Name=f"secret-{i}", SecretString="x")["ARN"]
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=doc("secretsmanager:GetSecretValue", "*"))
        sqs.create_queue(QueueName=f"queue-{i}", Attributes={"Policy": doc("sqs:SendMessage", "*")})
        sns.create_topic(Name=f"topic-{i}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def _answering_moto_gaps(app: Any) -> Any:
    """moto has no CloudTrail ListEventDataStores (the SDK would retry it ten times): answer it as an account
    without event data stores does."""
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith(".ListEventDataStores"):
            body = b'{"EventDataStores": []}'
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)
    return wsgi


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--keys-every", type=int, default=4, help="every Nth user has an access key")
    parser.add_argument("--workloads", type=int, default=20,
                        help="Bedrock agents, knowledge bases, SageMaker notebooks and endpoints, each")
    parser.add_argument("--resources", type=int, default=0,
                        help="buckets, keys, secrets, queues and topics with resource-based policies, N of each")
    args = parser.parse_args()

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    server._server.app = _answering_moto_gaps(server._server.app)
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        started = time.perf_counter()
        _seed(url, args.users, args.roles, args.policies, args.keys_every)
        _seed_workloads(url, args.workloads)
        _seed_resources(url, args.resources)
        print(f"seeded {args.users} users / {args.roles} roles / {args.policies} policies "
              f"in {time.perf_counter() - started:.1f} s (not part of the measurement)", file=sys.stderr)

        os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                          AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                          # S3 Control prefixes the host with the account id (123456789012.127.0.0.1), which
                          # does not resolve: moto is also the proxy, and routes by path.
                          HTTP_PROXY=url, NO_PROXY="")
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from rich.console import Console

        from nhiaudit.connectors.aws.live import collect_aws
        from nhiaudit.connectors.aws.readonly import RequestLog
        from nhiaudit.connectors.options import AwsOptions

        log = RequestLog()
        started = time.perf_counter()
        (snap,) = collect_aws(AwsOptions(enabled=True, regions=("us-east-1",)), 1, Console(file=io.StringIO()),
                              request_log=log)
        wall = time.perf_counter() - started
    finally:
        server.stop()
    by_service: Counter[str] = Counter()
    for operation, count in log.snapshot().items():
        by_service[operation.split(":", 1)[0]] += count
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "estate": {"users": args.users, "roles": args.roles, "policies": args.policies,
                   "workloads_per_kind": args.workloads, "resources_per_service": args.resources},
        "collected": {"identities": len(snap.identities), "credentials": len(snap.credentials),
                      "policies": len(snap.policies), "workloads": len(snap.workloads),
                      "issues": len(snap.collection_issues)},
        "api_requests": log.total,
        "requests_by_operation": dict(sorted(log.snapshot().items())),
        "requests_by_service": dict(sorted(by_service.items())),
        "wall_seconds": round(wall, 2),
        "peak_rss_mib_including_moto": round(rss_mib),
    }, indent=2))
    return 0 if snap.complete else 3


if __name__ == "__main__":
    sys.exit(main())
