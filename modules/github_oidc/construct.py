"""The CI identity as code: GitHub Actions' OIDC provider and, for one environment, the role
pull requests and drift detection plan with (metadata reads and the state it plans, nothing
else), the role deployments apply with (only the deploy workflow, on main, in the environment's
GitHub environment) and the role the application repositories publish images with.

The trust policies match the whole OIDC ``sub``. AWS STS evaluates a GitHub token's ``aud`` and
``sub`` in every partition (provider-specific keys such as ``job_workflow_ref`` arrived in STS
only in 2026 and are not used here), so the repository customizes its ``sub`` template to carry
the context (environment / pull_request / ref), the ref and the workflow file
(``.github/settings/github.toml``, applied by ``hrsaas github-settings``), and the subjects below
are rendered by the same code from the same claim-key list.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.devtools.github_settings import Settings
from hrsaas.tf import Construct, aws

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# GitHub's OIDC certificate thumbprints; IAM no longer checks them for GitHub (it trusts the
# issuer's CA), but the API still takes a list.
THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1",
               "1c58a3a8518e8759bf075b76b750d4f2df264fcd")

# What a plan's refresh reads, per service of the synthesized resource and data-source types:
# configuration and tags (Describe/List and the metadata Get calls), never contents. Wildcards
# only where every matching action is metadata (tests/test_ci_identity.py checks each against
# its catalogue of data reads). A new resource type needs its reads here: the test that maps
# every synthesized type to a service below fails until it has them.
PLAN_METADATA_READS: dict[str, tuple[str, ...]] = {
    "access-analyzer": ("access-analyzer:GetAnalyzer", "access-analyzer:ListAnalyzers",
                        "access-analyzer:ListTagsForResource"),
    "acm": ("acm:DescribeCertificate", "acm:ListCertificates", "acm:ListTagsForCertificate"),
    "application-autoscaling": ("application-autoscaling:Describe*",
                                "application-autoscaling:ListTagsForResource"),
    "backup": ("backup:DescribeBackupVault", "backup:GetBackupPlan", "backup:GetBackupSelection",
               "backup:GetBackupVaultAccessPolicy", "backup:GetBackupVaultNotifications",
               "backup:ListBackupPlans", "backup:ListBackupSelections", "backup:ListBackupVaults",
               "backup:ListTags"),
    "budgets": ("budgets:ViewBudget", "budgets:DescribeBudgetActionsForBudget",
                "budgets:ListTagsForResource"),
    "ce": ("ce:GetAnomalyMonitors", "ce:GetAnomalySubscriptions", "ce:ListTagsForResource"),
    "cloudfront": ("cloudfront:GetDistribution", "cloudfront:GetDistributionConfig",
                   "cloudfront:GetOriginAccessControl", "cloudfront:ListDistributions",
                   "cloudfront:ListOriginAccessControls", "cloudfront:ListTagsForResource"),
    "cloudtrail": ("cloudtrail:DescribeTrails", "cloudtrail:GetTrail",
                   "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
                   "cloudtrail:GetInsightSelectors", "cloudtrail:ListTags"),
    "cloudwatch": ("cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard",
                   "cloudwatch:ListDashboards", "cloudwatch:ListTagsForResource"),
    "config": ("config:DescribeConfigurationRecorders",
               "config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels",
               "config:ListTagsForResource"),
    "dynamodb": ("dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups",
                 "dynamodb:DescribeTimeToLive", "dynamodb:DescribeKinesisStreamingDestination",
                 "dynamodb:GetResourcePolicy", "dynamodb:ListTables",
                 "dynamodb:ListTagsOfResource"),
    "ec2": ("ec2:Describe*",),
    "ecr": ("ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
            "ecr:ListTagsForResource"),
    "ecs": ("ecs:Describe*", "ecs:List*"),
    "elasticache": ("elasticache:Describe*", "elasticache:ListTagsForResource"),
    "elasticloadbalancing": ("elasticloadbalancing:Describe*",),
    "events": ("events:DescribeRule", "events:ListRules", "events:ListTargetsByRule",
               "events:ListTagsForResource"),
    "guardduty": ("guardduty:GetDetector", "guardduty:ListDetectors",
                  "guardduty:ListTagsForResource"),
    "iam": ("iam:Get*", "iam:List*"),
    "kms": ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
            "kms:ListKeys", "kms:ListResourceTags"),
    "logs": ("logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
             "logs:ListTagsForResource", "logs:ListTagsLogGroup"),
    "rds": ("rds:DescribeDBInstances", "rds:DescribeDBParameterGroups",
            "rds:DescribeDBParameters", "rds:DescribeDBSubnetGroups",
            "rds:ListTagsForResource"),
    "route53": ("route53:GetChange", "route53:GetHostedZone", "route53:GetDNSSEC",
                "route53:ListHostedZones", "route53:ListResourceRecordSets",
                "route53:ListTagsForResource"),
    # Bucket configuration only: every s3:GetBucket* and s3:Get*Configuration is bucket-level
    # (policy, ACL, versioning, encryption, lifecycle, logging, ...). HeadBucket (the bucket
    # read) needs s3:ListBucket: it lists keys, never object contents.
    "s3": ("s3:GetBucket*", "s3:Get*Configuration", "s3:ListAllMyBuckets", "s3:ListBucket"),
    # Metadata only; GetRandomPassword serves the security layer's ephemeral generators (a
    # fresh random string, never a stored value).
    "secretsmanager": ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
                       "secretsmanager:ListSecrets", "secretsmanager:ListSecretVersionIds",
                       "secretsmanager:GetRandomPassword"),
    "sns": ("sns:GetTopicAttributes", "sns:GetSubscriptionAttributes",
            "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:ListTopics"),
    "sqs": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueues",
            "sqs:ListQueueTags", "sqs:ListDeadLetterSourceQueues"),
    "ssm": ("ssm:DescribeParameters", "ssm:ListTagsForResource"),
    "wafv2": ("wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:GetLoggingConfiguration",
              "wafv2:ListWebACLs", "wafv2:ListResourcesForWebACL",
              "wafv2:ListTagsForResource"),
}

# Reads of contents: secret values, objects, items, logs, messages, images, connections. Denied
# explicitly on top of the allow-list above, so a wider allow added later (or an attached
# managed policy) still cannot reach them. s3:GetObject and dynamodb:GetItem are denied outside
# the state objects and the lock table (statements below); kms:Decrypt outside S3.
PLAN_DENIED_DATA_READS: tuple[str, ...] = (
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
    "s3:GetObjectVersion", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent",
    "s3-object-lambda:*",
    "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect",
    "dynamodb:GetRecords", "dynamodb:GetShardIterator",
    "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults",
    "logs:StartLiveTail", "logs:GetLogRecord", "logs:Unmask",
    "sqs:ReceiveMessage",
    "ssm:GetParameterHistory", "ssm:GetParametersByPath", "ssm:StartSession",
    "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    "ecs:ExecuteCommand",
    "rds:DownloadDBLogFilePortion", "rds:DownloadCompleteDBLogFile", "rds-db:connect",
    "rds-data:*", "elasticache:Connect",
    "cloudtrail:LookupEvents", "cloudtrail:GetQueryResults",
    "wafv2:GetSampledRequests", "lambda:GetFunction", "kinesis:GetRecords",
    "athena:GetQueryResults",
)


class GithubOidcProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """``owner/name`` of the repository whose workflows may assume the roles."""
    environment: str
    """The GitHub environment the apply role trusts (the env's name: its reviewers gate prod)."""
    plan_role_name: str
    apply_role_name: str
    subject_claim_keys: tuple[str, ...] = ("repo", "context", "ref", "job_workflow_ref")
    """The repository's OIDC sub template (``.github/settings/github.toml``: one source)."""
    deploy_workflow: str = ".github/workflows/deploy.yml"
    """The only workflow file the apply role trusts, and only from ``main_branch``."""
    main_plan_workflows: tuple[str, ...] = (".github/workflows/drift.yml",)
    """Workflows that may plan from ``main_branch`` without an environment (drift)."""
    pull_request_workflow: str = ".github/workflows/ci.yml"
    """The workflow that plans pull requests and merge-queue groups."""
    main_branch: str = "main"
    provider_arn: str | None = None
    """An existing GitHub OIDC provider of the account (there is one per URL); None = create."""
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str
    state_bucket: str
    lock_table: str
    plan_state_keys: tuple[str, ...] = ()
    """The state objects the plan role may read: the layers it plans and the ones they read."""
    state_key_arn: str | None = None
    """The state's CMK (prod); None = the bucket uses an AWS-managed key."""
    max_session_seconds: int = Field(3600, ge=3600, le=43200)
    publish_role_name: str | None = None
    publisher_repositories: tuple[str, ...] = ()
    """Application repositories whose CI publishes images from a job in their GitHub
    environment named like this environment (their default sub template:
    ``repo:<app>:environment:<env>``); none = no publish role."""
    image_repositories_prefix: str = "hr-saas/"
    """The ECR repositories the publish role may push to (``<prefix>*``)."""
    image_parameters_path: str = ""
    """The SSM path of the image parameters (``/hr-saas/<env>/images``): the publish role
    writes them, the plan role reads them (String parameters, the image a service runs)."""


# Push a new image (layers, manifest) and add a tag to an existing one (read its manifest).
PUBLISH_ECR = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
               "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
               "ecr:BatchGetImage", "ecr:DescribeImages")


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def subjects_of(p: GithubOidcProps) -> Settings:
    """The props as the settings model that renders subjects (hrsaas/devtools/github_settings)."""
    return Settings(claim_keys=p.subject_claim_keys, deploy_workflow=p.deploy_workflow,
                    main_plan_workflows=p.main_plan_workflows,
                    pull_request_workflow=p.pull_request_workflow, main_branch=p.main_branch)


class GithubOidc(Construct):
    def __init__(self, scope: Construct, id_: str, props: GithubOidcProps):
        super().__init__(scope, id_)
        p = props
        if p.provider_arn is None:
            provider = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
                self, "provider", url=f"https://{ISSUER}", client_id_list=[AUDIENCE],
                thumbprint_list=list(THUMBPRINTS))
            provider_arn = provider.arn
        else:
            provider_arn = p.provider_arn

        def statement(operator: str, subjects: list[str]) -> dict:
            condition: dict = {"StringEquals": {f"{ISSUER}:aud": AUDIENCE}}
            condition.setdefault(operator, {})[f"{ISSUER}:sub"] = subjects
            return {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": provider_arn}, "Condition": condition}

        def trust(subjects: list[str]) -> str:
            # Exact subjects (a list is any-of): no wildcard that another repository, branch,
            # workflow or environment could satisfy.
            return _doc({
                "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": provider_arn},
                "Condition": {"StringEquals": {f"{ISSUER}:aud": AUDIENCE,
                                               f"{ISSUER}:sub": subjects}},
            })

        subjects = subjects_of(p)
        self.plan_role = aws.iam_role.IamRole(
            self, "plan-role", name=p.plan_role_name,
            description=f"GitHub Actions plans of {p.repository} (metadata reads, its state)",
            # Main's drift plans by exact subject; pull requests and merge-queue groups by a
            # pattern (the PR number and the queue branch vary) that keeps the repository and
            # the context fixed. A PR author controls the workflow file on their branch: the
            # boundary for them is this role's permissions, not its trust.
            assume_role_policy=_doc(
                statement("StringEquals", subjects.main_plan_subjects(p.repository)),
                statement("StringLike", subjects.pull_request_plan_patterns(p.repository))),
            max_session_duration=p.max_session_seconds)
        aws.iam_role_policy.IamRolePolicy(
            self, "plan-state", name="metadata-reads-and-its-state", role=self.plan_role.id,
            policy=self._plan_policy(p))

        self.apply_role = aws.iam_role.IamRole(
            self, "apply-role", name=p.apply_role_name,
            description=(f"GitHub Actions deployments of {p.repository} to {p.environment} "
                         f"({p.deploy_workflow} on {p.main_branch})"),
            assume_role_policy=trust([subjects.apply_subject(p.repository, p.environment)]),
            max_session_duration=p.max_session_seconds)
        # Applying this project creates IAM roles, KMS key policies, networks and databases:
        # scoping that below administrator would be a second copy of every layer. The gate is
        # the trust policy — only the deploy workflow on main, in the GitHub environment
        # (main-only deployments, prod's reviewers).
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "apply-admin", role=self.apply_role.name,
            policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.plan_role_arn = self.plan_role.arn
        self.apply_role_arn = self.apply_role.arn
        self.provider_arn = provider_arn
        self.publish_role_arn = None
        if p.publisher_repositories and p.publish_role_name:
            self._publisher(p, trust)

    @staticmethod
    def _plan_policy(p: GithubOidcProps) -> str:
        bucket = f"arn:aws:s3:::{p.state_bucket}"
        table = f"arn:aws:dynamodb:{p.region}:{p.account_id}:table/{p.lock_table}"
        states = [f"{bucket}/{key}" for key in p.plan_state_keys]
        statements: list[dict] = [
            {"Sid": "MetadataReads", "Effect": "Allow",
             "Action": sorted({a for actions in PLAN_METADATA_READS.values() for a in actions}),
             "Resource": "*"},
            *([{"Sid": "TheStateItPlans", "Effect": "Allow", "Action": ["s3:GetObject"],
                "Resource": states}] if states else []),
            # Plans run with -lock=false: no lock writes. The S3 backend still compares each
            # state with its digest item in the lock table (a read).
            {"Sid": "StateDigest", "Effect": "Allow", "Action": ["dynamodb:GetItem"],
             "Resource": table},
            # The image a service runs (String parameters) is read by the compute plan.
            {"Sid": "ImageParameters", "Effect": "Allow",
             "Action": ["ssm:GetParameter", "ssm:GetParameters"],
             "Resource": f"arn:aws:ssm:{p.region}:{p.account_id}:parameter"
                         f"{p.image_parameters_path.rstrip('/')}/*"},
            {"Sid": "NoDataReads", "Effect": "Deny", "Action": list(PLAN_DENIED_DATA_READS),
             "Resource": "*"},
            {"Sid": "NoObjectsButTheState", "Effect": "Deny", "Action": ["s3:GetObject"],
             **({"NotResource": states} if states else {"Resource": "*"})},
            {"Sid": "NoItemsButTheStateDigest", "Effect": "Deny",
             "Action": ["dynamodb:GetItem"], "NotResource": table},
            # Objects of the state bucket are encrypted with the state key (prod's CMK) or
            # aws/s3: decrypting is allowed only as part of an S3 read.
            {"Sid": "DecryptOnlyThroughS3", "Effect": "Deny", "Action": ["kms:Decrypt"],
             "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:ViaService": f"s3.{p.region}.amazonaws.com"}}},
        ]
        if p.state_key_arn:
            statements.append({"Sid": "StateKey", "Effect": "Allow", "Action": ["kms:Decrypt"],
                               "Resource": p.state_key_arn,
                               "Condition": {"StringEquals": {
                                   "kms:ViaService": f"s3.{p.region}.amazonaws.com"}}})
        return _doc(*statements)

    def _publisher(self, p: GithubOidcProps, trust) -> None:
        """The application repositories' identity: push images and name the one a service
        runs (docs/images.md), nothing else — no Terraform state, no deploy. Those repositories
        keep GitHub's default sub template (`repo:<app>:environment:<env>`): their own
        environment's main-only rule is what binds the publishing to main (README)."""
        role = aws.iam_role.IamRole(
            self, "publish-role", name=p.publish_role_name,
            description=f"image publishing to {p.environment} by the application repositories",
            assume_role_policy=trust([f"repo:{repo}:environment:{p.environment}"
                                      for repo in p.publisher_repositories]),
            max_session_duration=3600)
        repositories = (f"arn:aws:ecr:{p.region}:{p.account_id}:repository/"
                        f"{p.image_repositories_prefix}*")
        parameters = (f"arn:aws:ssm:{p.region}:{p.account_id}:parameter"
                      f"{p.image_parameters_path.rstrip('/')}/*")
        aws.iam_role_policy.IamRolePolicy(
            self, "publish-policy", name="push-images-write-image-parameters", role=role.id,
            policy=_doc(
                # ECR's login has no resource-level permission.
                {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                 "Resource": "*"},
                {"Sid": "PushAndTagImages", "Effect": "Allow", "Action": list(PUBLISH_ECR),
                 "Resource": repositories},
                {"Sid": "NameTheReleasedImage", "Effect": "Allow",
                 "Action": ["ssm:GetParameter", "ssm:PutParameter"], "Resource": parameters},
            ))
        self.publish_role_arn = role.arn
