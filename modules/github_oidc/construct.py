"""The CI identity as code: GitHub Actions' OIDC provider and, for one environment, the role
pull requests plan with (reads everything, writes only the state lock) and the role deployments
apply with (trusted only from the environment's GitHub environment, whose reviewers gate it)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# GitHub's OIDC certificate thumbprints; IAM no longer checks them for GitHub (it trusts the
# issuer's CA), but the API still takes a list.
THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1",
               "1c58a3a8518e8759bf075b76b750d4f2df264fcd")


class GithubOidcProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """``owner/name`` of the repository whose workflows may assume the roles."""
    environment: str
    """The GitHub environment the apply role trusts (the env's name: its reviewers gate prod)."""
    plan_role_name: str
    apply_role_name: str
    plan_subjects: tuple[str, ...] = ("pull_request", "ref:refs/heads/main")
    """OIDC ``sub`` suffixes allowed to plan: pull requests, and main (drift detection)."""
    provider_arn: str | None = None
    """An existing GitHub OIDC provider of the account (there is one per URL); None = create."""
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str
    state_bucket: str
    lock_table: str
    state_key_arn: str | None = None
    """The state's CMK (prod); None = the bucket uses an AWS-managed key."""
    max_session_seconds: int = Field(3600, ge=3600, le=43200)
    plan_readable_secret: str = "hr-saas/db"
    """The one secret a plan must read (the database password, an ephemeral read)."""
    publish_role_name: str | None = None
    publisher_repositories: tuple[str, ...] = ()
    """Application repositories whose CI publishes images from a job in their GitHub
    environment named like this environment; none = no publish role."""
    image_repositories_prefix: str = "hr-saas/"
    """The ECR repositories the publish role may push to (``<prefix>*``)."""
    image_parameters_path: str = ""
    """The SSM path of the image parameters it may write (``/hr-saas/<env>/images``)."""


# Push a new image (layers, manifest) and add a tag to an existing one (read its manifest).
PUBLISH_ECR = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
               "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
               "ecr:BatchGetImage", "ecr:DescribeImages")


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


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

        def trust(subjects: list[str]) -> str:
            return _doc({
                "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": provider_arn},
                # Exact subjects (a list is any-of): no wildcard that could admit another
                # repository, branch or environment.
                "Condition": {"StringEquals": {f"{ISSUER}:aud": AUDIENCE,
                                               f"{ISSUER}:sub": subjects}},
            })

        repo = f"repo:{p.repository}"
        self.plan_role = aws.iam_role.IamRole(
            self, "plan-role", name=p.plan_role_name,
            description=f"GitHub Actions plans of {p.repository} (read-only, state lock)",
            assume_role_policy=trust([f"{repo}:{s}" for s in p.plan_subjects]),
            max_session_duration=p.max_session_seconds)
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "plan-read-only", role=self.plan_role.name,
            policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        bucket = f"arn:aws:s3:::{p.state_bucket}"
        state = [
            {"Sid": "ReadState", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": bucket},
            {"Sid": "ReadStateObjects", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": f"{bucket}/*"},
            # Terraform's S3 lockfile: <key>.tflock next to each state object.
            {"Sid": "WriteLockfilesOnly", "Effect": "Allow",
             "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": f"{bucket}/*.tflock"},
            {"Sid": "DynamoDbLock", "Effect": "Allow",
             "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                        "dynamodb:DeleteItem"],
             "Resource": f"arn:aws:dynamodb:{p.region}:{p.account_id}:table/{p.lock_table}"},
            # A plan opens the ephemeral resources too: the database layer reads hr-saas/db's
            # password (its write-only argument) and the security layer generates random
            # values. Only that one secret: JWT and encryption keys stay out of plan jobs.
            {"Sid": "PlanTimeEphemeralRead", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue"],
             "Resource": f"arn:aws:secretsmanager:{p.region}:{p.account_id}:secret:"
                         f"{p.plan_readable_secret}-*"},
            {"Sid": "PlanTimeRandomValues", "Effect": "Allow",
             "Action": ["secretsmanager:GetRandomPassword"], "Resource": "*"},
            {"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt",
             "Resource": f"arn:aws:kms:{p.region}:{p.account_id}:key/*",
             "Condition": {"StringEquals": {
                 "kms:ViaService": f"secretsmanager.{p.region}.amazonaws.com"}}},
        ]
        if p.state_key_arn:
            state.append({"Sid": "StateKey", "Effect": "Allow",
                          "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                          "Resource": p.state_key_arn})
        aws.iam_role_policy.IamRolePolicy(
            self, "plan-state", name="state-and-plan-time-reads", role=self.plan_role.id,
            policy=_doc(*state))

        self.apply_role = aws.iam_role.IamRole(
            self, "apply-role", name=p.apply_role_name,
            description=f"GitHub Actions deployments of {p.repository} to {p.environment}",
            assume_role_policy=trust([f"{repo}:environment:{p.environment}"]),
            max_session_duration=p.max_session_seconds)
        # Applying this project creates IAM roles, KMS key policies, networks and databases:
        # scoping that below administrator would be a second copy of every layer. The gate is
        # the trust policy — only a job in the GitHub environment, behind its reviewers.
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "apply-admin", role=self.apply_role.name,
            policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.plan_role_arn = self.plan_role.arn
        self.apply_role_arn = self.apply_role.arn
        self.provider_arn = provider_arn
        self.publish_role_arn = None
        if p.publisher_repositories and p.publish_role_name:
            self._publisher(p, trust)

    def _publisher(self, p: GithubOidcProps, trust) -> None:
        """The application repositories' identity: push images and name the one a service
        runs (docs/images.md), nothing else — no Terraform state, no deploy."""
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
