"""edge: frontend bucket, CloudFront, ACM in two regions, Route 53 (guide §9, §12)."""

from __future__ import annotations

import pytest

from hrsaas.config import load_environment
from modules.cdn_site import CACHING_OPTIMIZED

# prod has the guide's names; mvp lives under them (CloudFront aliases are unique in all of AWS)
DOMAINS = {"prod": "hr.example.com", "mvp": "mvp.hr.example.com"}


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_frontend_bucket(stack, env):
    s = stack(f"{env}-edge")
    buckets = {b["bucket"]: rid for rid, b in s.resources("aws_s3_bucket").items()}
    assert f"hr-saas-frontend-{env}" in buckets
    rid = buckets[f"hr-saas-frontend-{env}"]

    def part(kind):
        (body,) = [b for b in s.resources(kind).values()
                   if b["bucket"] == f"${{aws_s3_bucket.{rid}.id}}"]
        return body

    assert part("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    (rule,) = part("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    pab = part("aws_s3_bucket_public_access_block")
    assert all(pab[k] for k in ("block_public_acls", "block_public_policy",
                                "ignore_public_acls", "restrict_public_buckets"))
    assert part("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == (
        "BucketOwnerEnforced")
    statements = s.policy_document(part("aws_s3_bucket_policy")["policy"])["statement"]
    deny, allow = statements
    assert deny["effect"] == "Deny" and deny["condition"][0]["variable"] == "aws:SecureTransport"
    assert allow["principals"] == [{"type": "Service",
                                    "identifiers": ["cloudfront.amazonaws.com"]}]
    assert allow["actions"] == ["s3:GetObject"]
    (dist_id,) = s.resources("aws_cloudfront_distribution")
    assert allow["condition"] == [{"test": "StringEquals", "variable": "AWS:SourceArn",
                                   "values": [f"${{aws_cloudfront_distribution.{dist_id}.arn}}"]}]


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_distribution(stack, env):
    s = stack(f"{env}-edge")
    d = s.one("aws_cloudfront_distribution")
    assert d["aliases"] == [DOMAINS[env]] and d["default_root_object"] == "index.html"
    assert d["http_version"] == "http2and3" and d["enabled"] and d["is_ipv6_enabled"]
    (origin,) = d["origin"]
    assert origin["domain_name"] == f"hr-saas-frontend-{env}.s3.ap-northeast-2.amazonaws.com"
    _, oac = s.deref(origin["origin_access_control_id"])
    assert oac["origin_access_control_origin_type"] == "s3"
    assert oac["signing_behavior"] == "always" and oac["signing_protocol"] == "sigv4"
    assert "aws_cloudfront_origin_access_identity" not in s.json["resource"]
    behavior = d["default_cache_behavior"]
    assert behavior["cache_policy_id"] == CACHING_OPTIMIZED
    assert behavior["viewer_protocol_policy"] == "redirect-to-https"
    assert behavior["response_headers_policy_id"]
    errors = {e["error_code"]: (e["response_code"], e["response_page_path"])
              for e in d["custom_error_response"]}
    assert errors == {403: (200, "/index.html"), 404: (200, "/index.html")}
    cert = d["viewer_certificate"]
    assert cert["minimum_protocol_version"] == "TLSv1.2_2021"
    assert cert["ssl_support_method"] == "sni-only"
    _, validation = s.deref(cert["acm_certificate_arn"])
    assert validation["provider"] == "aws.us_east_1"
    assert d["logging_config"]["bucket"].endswith(".bucket_domain_name}")
    assert ("web_acl_id" in d) is (env == "prod")
    if env == "prod":
        [acl] = [a for a in s.resources("aws_wafv2_web_acl").values()
                 if a["scope"] == "CLOUDFRONT"]
        assert acl["provider"] == "aws.us_east_1"
        assert {r["name"] for r in acl["rule"]} >= {"AWSManagedRulesCommonRuleSet"}


@pytest.mark.parametrize("env", ["local", "mvp", "prod"])
def test_only_the_emulator_skips_the_deployment_wait(stack, env):
    """Real environments wait until CloudFront has deployed the distribution (what the layers
    after edge rely on); on moto it is Deployed at once, so the provider's fixed 30 s sleep
    before its first poll is the only thing the wait would add."""
    d = stack(f"{env}-edge").one("aws_cloudfront_distribution")
    assert d["wait_for_deployment"] is (env != "local")


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_certificates_and_records(stack, env):
    DOMAIN = DOMAINS[env]
    s = stack(f"{env}-edge")
    certs = list(s.resources("aws_acm_certificate").values())
    assert len(certs) == 2
    for cert in certs:
        # the wildcard does not cover the apex CloudFront serves: both are named
        assert cert["domain_name"] == DOMAIN
        assert cert["subject_alternative_names"] == [f"*.{DOMAIN}"]
        assert cert["validation_method"] == "DNS"
    assert sorted(c.get("provider", "default") for c in certs) == ["aws.us_east_1", "default"]
    validations = list(s.resources("aws_acm_certificate_validation").values())
    assert len(validations) == 2
    records = s.resources("aws_route53_record")
    for v in validations:
        for fqdn in v["validation_record_fqdns"]:
            assert s.deref(fqdn)[0].startswith("aws_route53_record.")
    aliases = {(r["name"], r["type"]): r["alias"] for r in records.values() if "alias" in r}
    assert set(aliases) == {(DOMAIN, "A"), (DOMAIN, "AAAA"), (f"api.{DOMAIN}", "A")}
    for (name, _), alias in aliases.items():
        assert alias["name"].startswith("${aws_lb." if name.startswith("api.")
                                        else "${aws_cloudfront_distribution.")
    # The zone is the dns layer's: the edge layer reads its ID, and a first deploy stops
    # between the two until the domain is delegated.
    assert "aws_route53_zone" not in s.json["resource"]
    dns = stack(f"{env}-dns")
    assert dns.one("aws_route53_zone")["name"] == DOMAIN
    assert set(dns.json["output"]) == {"zone_id", "domain", "name_servers"}
    assert all(r["zone_id"] == "${data.terraform_remote_state.remote-dns.outputs.zone_id}"
               for r in records.values())


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_file_bucket(stack, env):
    s = stack(f"{env}-edge")
    (rid,) = [rid for rid, b in s.resources("aws_s3_bucket").items()
              if b["bucket"].startswith(f"hr-saas-files-{env}")]
    (sse,) = [b for b in s.resources("aws_s3_bucket_server_side_encryption_configuration")
              .values() if b["bucket"] == f"${{aws_s3_bucket.{rid}.id}}"]
    default = sse["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert ("kms_master_key_id" in default) is (env == "prod")
    # What compute reads; the regional certificate stays inside this stack with its listener.
    assert {"file_bucket_arn", "https_listener_arn", "zone_id"} <= set(s.json["output"])
    assert "regional_certificate_arn" not in s.json["output"]


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_access_logs_expire_with_the_env_log_retention(stack, env):
    s = stack(f"{env}-edge")
    rules = {}
    for body in s.resources("aws_s3_bucket_lifecycle_configuration").values():
        _, bucket = s.deref(body["bucket"])
        rules[bucket["bucket"]] = body["rule"][0]
    account = load_environment(env).account_id
    assert rules[f"hr-saas-logs-{env}-{account}"]["expiration"] == [
        {"days": load_environment(env).logs.retention_days}]
    # Frontend assets and user files are never expired by age.
    assert "expiration" not in rules[f"hr-saas-frontend-{env}"]
    assert "expiration" not in rules[f"hr-saas-files-{env}-{account}"]
