"""An ECR repository (guide §10): immutable tags, scan on push, encryption, the guide's
lifecycle (keep the 10 most recent tagged images, expire untagged images after 30 days)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class EcrRepositoryProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
    """Repository name, e.g. ``hr-saas/auth-service``."""
    kms_key_arn: str | None = None
    """CMK; None = KMS with the AWS-managed ``aws/ecr`` key."""
    keep_tagged_images: int = Field(10, ge=1)
    untagged_expiry_days: int = Field(30, ge=1)
    force_delete: bool = False
    """Delete the repository with its images (emulator only): images are build artefacts that
    deployed task definitions still reference."""
    tags: dict[str, str] = {}


# Tags that a lifecycle rule must never expire (docs/images.md): releases (`v<version>`) and
# the `deployed-<env>-<UTC time>` tag the publisher adds to every image it puts into service,
# so the image a service runs — and the ones it can roll back to — stay.
PROTECTED_TAG_PATTERNS = ("v*", "deployed-*")
KEEP_FOREVER = 10000  # ECR has no "never expire": a count no repository reaches


def lifecycle_policy(keep_tagged: int, untagged_days: int) -> str:
    """The guide's two rules, after rules that keep released and deployed images: ECR lets an
    image be expired only by the highest-priority rule whose tags it matches."""
    keep = [{"rulePriority": priority,
             "description": f"keep images tagged {pattern} (released or deployed)",
             "selection": {"tagStatus": "tagged", "tagPatternList": [pattern],
                           "countType": "imageCountMoreThan", "countNumber": KEEP_FOREVER},
             "action": {"type": "expire"}}
            for priority, pattern in enumerate(PROTECTED_TAG_PATTERNS, start=1)]
    first = len(keep) + 1
    return json.dumps({"rules": [
        *keep,
        {"rulePriority": first,
         "description": f"expire untagged images after {untagged_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": untagged_days},
         "action": {"type": "expire"}},
        {"rulePriority": first + 1,
         "description": f"keep the {keep_tagged} most recent tagged images",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"],
                       "countType": "imageCountMoreThan", "countNumber": keep_tagged},
         "action": {"type": "expire"}},
    ]}, indent=None, separators=(",", ":"))


class EcrRepository(Construct):
    def __init__(self, scope: Construct, id_: str, props: EcrRepositoryProps):
        super().__init__(scope, id_)
        # A typed struct: a plain dict inside a list loses its multi-word keys in jsii.
        encryption = aws.ecr_repository.EcrRepositoryEncryptionConfiguration(
            encryption_type="KMS", kms_key=props.kms_key_arn)
        self.repository = aws.ecr_repository.EcrRepository(
            self, "repository", name=props.name,
            # Tags are immutable: a deployed `<git-sha>` or `v<version>` always means the same
            # image (docs/images.md: why the guide's moving `latest` tag is not pushed).
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configuration=[encryption],
            force_delete=props.force_delete,
            tags={"Name": props.name, **props.tags},
        )
        aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
            self, "lifecycle", repository=self.repository.name,
            policy=lifecycle_policy(props.keep_tagged_images, props.untagged_expiry_days),
        )
        self.url = self.repository.repository_url
        self.arn = self.repository.arn
        self.name = self.repository.name
